// Sub-commands of the `lowbit` tool: each registers its options on the app and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

namespace lowbit::cli {

void add_formats_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_roundtrip_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_bench_decode_command(CLI::App* bench);    // under `bench`
void add_bench_quantize_command(CLI::App* bench);  // under `bench`
void add_tokenize_command(CLI::App& app);
void add_run_commands(CLI::App& app);
void add_score_command(CLI::App& app);
void add_make_model_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_serve_command(CLI::App& app);  // when the server is built (LOWBIT_HAVE_SERVER)

}  // namespace lowbit::cli
