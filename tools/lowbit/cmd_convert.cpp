// `lowbit convert`: a Hugging Face model folder to a GGUF lowbit (and llama.cpp/bitnet.cpp
// where the types are theirs) can run.
#include <fmt/core.h>

#include <chrono>
#include <memory>

#include "commands.hpp"
#include "lowbit/convert.hpp"
#include "lowbit/thread_pool.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::cli {

void add_convert_command(CLI::App& app) {
    struct Options {
        std::string input, output, type, embedding_type = "F16";
        int threads = 0;
    };
    auto o = std::make_shared<Options>();
    auto* cmd = app.add_subcommand(
        "convert", "Convert a Hugging Face folder (config.json, *.safetensors, tokenizer.json) to GGUF");
    cmd->add_option("input", o->input, "Model folder")->required()->check(CLI::ExistingDirectory);
    cmd->add_option("-o,--out", o->output, "Output .gguf file")->required();
    cmd->add_option("--type", o->type, "Type of the linear layers (default: I2_S for BitNet, F16 for llama)");
    cmd->add_option("--embedding-type", o->embedding_type, "Type of the token embedding (and head)")->capture_default_str();
    cmd->add_option("-t,--threads", o->threads, "Threads (default: all CPUs this process may use)")
        ->check(CLI::Range(0, 1024));
    cmd->footer("The same code path as `lowbit quantize FOLDER OUT.gguf --type T --tensor-type "
                "'^(token_embd|output)\\.weight$=F16'`, which adds quality measurement and fallbacks.");
    cmd->callback([o] {
        llm::ConvertOptions c;
        c.input = o->input;
        c.output = o->output;
        if (!o->type.empty()) c.linear_type = weight_type(o->type).id;
        c.embedding_type = weight_type(o->embedding_type).id;
        const auto start = std::chrono::steady_clock::now();
        ThreadPool pool(o->threads > 0 ? o->threads : default_thread_count());
        const llm::ConvertReport r = llm::convert_hf_model(c, pool);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const std::string ternary =
            r.ternary_as_is + r.ternarized == 0
                ? ""
                : fmt::format("; linear weights: {} stored as they were (ternary x scale), {} absmean-ternarized",
                              r.ternary_as_is, r.ternarized);
        fmt::print("wrote {} ({}, {} tensors{}) in {:.1f} s\n", o->output, r.architecture, r.tensors, ternary, s);
    });
}

}  // namespace lowbit::cli
