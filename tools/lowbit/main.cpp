// `lowbit`: the command-line front end. Each sub-command lives in its own cmd_*.cpp file.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "commands.hpp"
#include "lowbit/error.hpp"
#include "lowbit/version.hpp"

namespace {

// The library names the argument at fault by its own name; the CLI says which flag set it.
std::string message_with_flag(const lowbit::Error& e) {
    static constexpr std::pair<std::string_view, std::string_view> kFlags[] = {
        {"temperature", "--temp"},          {"top_k", "--top-k"},
        {"top_p", "--top-p"},               {"min_p", "--min-p"},
        {"repeat_penalty", "--repeat-penalty"}, {"repeat_last_n", "--repeat-last-n"},
        {"context", "--ctx"},               {"window", "--window"},
        {"threads", "--threads"},           {"frequency_penalty", "--frequency-penalty"},
        {"presence_penalty", "--presence-penalty"}, {"parallel", "--parallel"},
        {"keep", "--keep"},                 {"tensor_types", "--tensor-type"},
        {"max_memory", "--max-memory"},     {"min_cosine", "--min-cosine"},
        {"group_size", "--group-size"},     {"out_format", "--out-format"},
        {"type", "--type"},                 {"bits", "--bits"},
        {"profile", "--profile"},           {"nan", "--nan"},
        {"mode", "--mode"},                 {"ternarize", "--ternarize"},
    };
    std::string text = e.what();
    for (const auto& [field, flag] : kFlags) {
        if (e.field() == field) text = std::string(flag) + ": " + text;
    }
    if (e.code() == lowbit::ErrorCode::context_full) text += " (raise --ctx)";
    return text;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"lowbit: low-bit neural-network weights on CPUs"};
    app.name("lowbit");
    app.set_version_flag("--version", "lowbit " + std::string(lowbit::version()));
    app.require_subcommand(1);
    lowbit::cli::add_formats_command(app);
    lowbit::cli::add_inspect_command(app);
    lowbit::cli::add_roundtrip_command(app);
    lowbit::cli::add_run_commands(app);
    lowbit::cli::add_score_command(app);
    lowbit::cli::add_make_model_command(app);
    lowbit::cli::add_convert_command(app);
    lowbit::cli::add_quantize_command(app);
    lowbit::cli::add_bench_command(app);
    lowbit::cli::add_tokenize_command(app);
#if defined(LOWBIT_HAVE_SERVER)
    lowbit::cli::add_serve_command(app);
#endif
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const lowbit::Error& e) {
        fmt::print(stderr, "lowbit: error: {}\n", message_with_flag(e));
        return 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "lowbit: internal error: {}\n", e.what());
        return 2;
    }
    return 0;
}
