// `lowbit inspect` output: a human table, or the stable JSON of docs/FILES.md.
#pragma once

#include <nlohmann/json.hpp>

#include "inspect_report.hpp"

namespace lowbit::cli {

nlohmann::ordered_json report_json(const ModelReport& report, bool with_tensors);
void print_report(const ModelReport& report, bool with_tensors);

}  // namespace lowbit::cli
