// The quantization report as JSON: schema "lowbit.quantize-report/1" (docs/QUANTIZE.md).
#include <cmath>
#include <nlohmann/json.hpp>

#include "../io/atomic_output.hpp"
#include "lowbit/quantize.hpp"

namespace lowbit::quantize {
namespace {

// JSON has no infinity: a non-finite figure is null.
nlohmann::json number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }

}  // namespace

std::string report_json(const Report& r) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const TensorReport& t : r.tensors) {
        nlohmann::json j = {{"name", t.name},
                            {"shape", t.shape},
                            {"source_type", t.source_type},
                            {"planned_type", t.planned_type},
                            {"type", t.type},
                            {"kept", t.kept},
                            {"bits_per_weight", number(t.bits_per_weight)},
                            {"seconds", number(t.seconds)},
                            {"input_bytes", t.input_bytes},
                            {"output_bytes", t.output_bytes}};
        if (!t.kept) {
            j["cosine"] = number(t.cosine);
            j["relative_mse"] = number(t.relative_mse);
            j["max_abs_error"] = number(t.max_abs_error);
        }
        j["fallback"] = t.fallback.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.fallback);
        if (t.zeroed > 0) j["zeroed_non_finite"] = t.zeroed;
        if (t.entropy >= 0) j["entropy"] = number(t.entropy);
        if (t.ternarized) j["ternarized"] = true;
        j["memory_bytes"] = t.memory_bytes;
        if (const auto& c = t.calibration) {
            j["calibration"] = {{"layer", c->layer},
                                {"method", c->method},
                                {"alpha", number(c->alpha)},
                                {"samples", c->samples},
                                {"output_error_plain", number(c->output_error_plain)},
                                {"output_error", number(c->output_error)},
                                {"clip_ratio", number(c->clip_ratio)},
                                {"act_error_one_range", number(c->act_error_one_range)},
                                {"act_error", number(c->act_error)}};
        }
        tensors.push_back(std::move(j));
    }
    nlohmann::json out = {
        {"schema", "lowbit.quantize-report/1"},
        {"input", r.input},
        {"output", r.dry_run ? nlohmann::json(nullptr) : nlohmann::json(r.output)},
        {"output_files", r.dry_run ? 0 : r.output_files},
        {"dry_run", r.dry_run},
        {"threads", r.threads},
        {"mode", r.mode},
        {"out_format", r.out_format},
        {"totals",
         {{"tensors", r.tensors.size()},
          {"fallbacks", r.fallbacks},
          {"input_bytes", r.input_bytes},
          {"output_bytes", r.output_bytes},
          {"bits_per_weight", number(r.bits_per_weight)},
          {"seconds", number(r.seconds)},
          {"input_mb_per_second", number(r.seconds > 0 ? static_cast<double>(r.input_bytes) / 1e6 / r.seconds : 0)},
          {"peak_rss_bytes", r.peak_rss_bytes},
          {"planned_peak_bytes", r.planned_peak_bytes}}},
        {"tensors", std::move(tensors)}};
    if (!r.timestep_groups.empty()) {
        out["calibration"] = {{"timestep_groups", r.timestep_groups},
                              {"time_group_spread", number(r.time_group_spread)},
                              {"one_group_spread", number(r.one_group_spread)}};
    }
    return out.dump(2) + "\n";
}

void write_report(const std::filesystem::path& path, const Report& report) {
    const std::string text = report_json(report);
    io::AtomicOutput out(path);
    out.write(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
    out.finish();
}

}  // namespace lowbit::quantize
