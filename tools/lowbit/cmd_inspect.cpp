// `lowbit inspect FILE|DIR [--json] [--tensors] [--meta KEY]`: what a model file holds.
#include <fmt/core.h>

#include <memory>
#include <string>

#include "commands.hpp"
#include "inspect_print.hpp"
#include "inspect_report.hpp"

namespace lowbit::cli {
namespace {

// Paths are bytes on Linux and need not be UTF-8: replace what is not, rather than fail.
std::string dump(const nlohmann::ordered_json& j) {
    return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

struct InspectOptions {
    std::string path;
    bool json = false;
    bool tensors = false;
    std::string meta;
};

void run_inspect(const InspectOptions& o) {
    if (!o.meta.empty()) {
        std::string type;
        const nlohmann::ordered_json value = model_metadata_value(o.path, o.meta, &type);
        if (o.json) {
            fmt::print("{}\n", dump(nlohmann::ordered_json{{"key", o.meta}, {"type", type}, {"value", value}}));
        } else {
            fmt::print("{}\n", value.is_string()
                                   ? value.get<std::string>()
                                   : value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
        }
        return;
    }
    const ModelReport report = inspect_model(o.path);
    if (o.json) {
        fmt::print("{}\n", dump(report_json(report, o.tensors)));
    } else {
        print_report(report, o.tensors);
    }
}

}  // namespace

void add_inspect_command(CLI::App& app) {
    auto opts = std::make_shared<InspectOptions>();
    auto* cmd = app.add_subcommand("inspect",
                                   "Describe a model: format, architecture, hyperparameters, tokenizer, tensor "
                                   "types and sizes (GGUF, SafeTensors, sharded SafeTensors, Hugging Face folder)");
    cmd->add_option("path", opts->path,
                    "A .gguf or .safetensors file, a model.safetensors.index.json, or a model folder")
        ->required();
    cmd->add_flag("--json", opts->json, "Print JSON (schema lowbit.inspect/1, see docs/FILES.md)");
    cmd->add_flag("--tensors", opts->tensors,
                  "Include the per-tensor table (name, type, shape, elements, bytes, offset)");
    cmd->add_option("--meta", opts->meta, "Print one metadata value (GGUF key, or SafeTensors __metadata__ key)");
    cmd->callback([opts] { run_inspect(*opts); });
}

}  // namespace lowbit::cli
