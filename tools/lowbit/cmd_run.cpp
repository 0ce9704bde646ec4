// `lowbit run`: generate from a prompt, streaming the text; `lowbit chat`: a REPL.
#include <fmt/core.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "commands.hpp"
#include "lowbit/chat.hpp"
#include "lowbit/error.hpp"
#include "lowbit/generate.hpp"
#include "lowbit/receipt.hpp"
#include "model_options.hpp"

namespace lowbit::cli {
namespace {

struct RunOptions {
    ModelOptions model;
    std::string prompt;
    std::string system;
    bool chat = false;
    bool json = false;
    std::string receipt;
    llm::GenerateOptions generate;
    bool seed_given = false;
};

uint64_t random_seed() { return std::random_device{}(); }

void print_speed(const llm::GenerateStats& s) {
    const double pp = s.prompt_seconds > 0 ? static_cast<double>(s.prompt_tokens) / s.prompt_seconds : 0.0;
    const double tg = s.decode_seconds > 0 ? static_cast<double>(s.generated_tokens) / s.decode_seconds : 0.0;
    fmt::print(stderr, "\nprompt: {} tokens, {:.1f} tok/s | generation: {} tokens, {:.1f} tok/s | first token {:.0f} ms\n",
               s.prompt_tokens, pp, s.generated_tokens, tg, s.first_token_seconds * 1e3);
}

void run(RunOptions& o) {
    if (!o.seed_given) o.generate.sampling.seed = random_seed();
    llm::validate(o.generate.sampling);
    ThreadPool pool(o.model.thread_count());
    const std::unique_ptr<llm::Model> model = load_model(o.model, pool);
    const Tokenizer& tok = model->tokenizer();
    std::vector<int32_t> prompt;
    if (o.chat) {
        const ChatFormatChoice choice = choose_chat_format(tok.chat_template());
        if (!choice.warning.empty()) fmt::print(stderr, "lowbit: warning: {}\n", choice.warning);
        std::vector<ChatMessage> messages;
        if (!o.system.empty()) messages.push_back({"system", o.system});
        messages.push_back({"user", o.prompt});
        prompt = encode_llama3_chat(tok, messages, true);
    } else {
        prompt = tok.encode(o.prompt, tok.add_bos(), /*parse_special=*/true);
    }
    llm::Session session(*model, pool, o.model.session_options());
    const bool stream = !o.json;
    const llm::GenerateResult r = llm::generate(session, tok, prompt, o.generate, [&](std::string_view text) {
        if (stream) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
        }
    });
    if (stream) {
        std::fputc('\n', stdout);
        print_speed(r.stats);
    } else {
        nlohmann::json j = {{"text", r.text},
                            {"tokens", r.tokens},
                            {"prompt_tokens", r.stats.prompt_tokens},
                            {"stop_reason", std::string(llm::stop_reason_name(r.reason))},
                            {"prompt_seconds", r.stats.prompt_seconds},
                            {"decode_seconds", r.stats.decode_seconds},
                            {"seed", o.generate.sampling.seed}};
        fmt::print("{}\n", j.dump(2));
    }
    if (!o.receipt.empty()) {
        llm::RunInfo info{o.model.model, pool.size(), o.generate, r.stats, r.reason};
        llm::write_receipt(o.receipt, session, info);
    }
}

// The conversation so far is kept in the context; each turn re-encodes the whole chat and
// evaluates only what differs from what the context already holds.
void chat(RunOptions& o) {
    if (!o.seed_given) o.generate.sampling.seed = random_seed();
    llm::validate(o.generate.sampling);
    ThreadPool pool(o.model.thread_count());
    const std::unique_ptr<llm::Model> model = load_model(o.model, pool);
    const Tokenizer& tok = model->tokenizer();
    const ChatFormatChoice choice = choose_chat_format(tok.chat_template());
    if (!choice.warning.empty()) fmt::print(stderr, "lowbit: warning: {}\n", choice.warning);
    llm::Session session(*model, pool, o.model.session_options());
    std::vector<ChatMessage> messages;
    if (!o.system.empty()) messages.push_back({"system", o.system});
    std::vector<int32_t> in_context;  // exactly the tokens the context holds
    fmt::print(stderr, "lowbit chat: /clear starts over, /exit (or end of input) leaves\n");
    std::string line;
    while (true) {
        fmt::print(stderr, "> ");
        if (!std::getline(std::cin, line) || line == "/exit") break;
        if (line == "/clear") {
            messages.resize(o.system.empty() ? 0 : 1);
            session.reset();
            in_context.clear();
            continue;
        }
        if (line.empty()) continue;
        messages.push_back({"user", line});
        const std::vector<int32_t> all = encode_llama3_chat(tok, messages, true);
        std::size_t common = 0;
        while (common < in_context.size() && common < all.size() && in_context[common] == all[common]) ++common;
        if (common == all.size()) common = all.size() - 1;  // something must be evaluated
        session.truncate(static_cast<int64_t>(common));
        const std::vector<int32_t> fresh(all.begin() + static_cast<std::ptrdiff_t>(common), all.end());
        const llm::GenerateResult r = llm::generate(session, tok, fresh, o.generate, [](std::string_view text) {
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fflush(stdout);
        });
        std::fputc('\n', stdout);
        print_speed(r.stats);
        messages.push_back({"assistant", r.text});
        in_context = all;
        in_context.insert(in_context.end(), r.tokens.begin(), r.tokens.end());
        if (session.n_past() < static_cast<int64_t>(in_context.size())) in_context.resize(static_cast<std::size_t>(session.n_past()));
    }
}

}  // namespace

void add_run_commands(CLI::App& app) {
    auto ro = std::make_shared<RunOptions>();
    auto* run_cmd = app.add_subcommand("run", "Generate text from a prompt (streamed to stdout; speed to stderr)");
    ro->model.add_to(run_cmd);
    run_cmd->add_option("-p,--prompt", ro->prompt, "The prompt")->required();
    run_cmd->add_option("-n,--n-predict", ro->generate.n_predict, "Tokens to generate at most (-1: until the context is full)")
        ->capture_default_str();
    add_sampling_options(run_cmd, ro->generate.sampling);
    run_cmd->add_option("--stop", ro->generate.stop, "Stop when the output contains this text (repeatable)");
    run_cmd->add_flag("--chat", ro->chat, "Wrap the prompt in the model's chat format (Llama-3) as a user message");
    run_cmd->add_option("--system", ro->system, "System message (with --chat)");
    run_cmd->add_option("--receipt", ro->receipt, "Write a JSON receipt of what ran to FILE");
    run_cmd->add_flag("--json", ro->json, "Print the result as JSON instead of streaming text");
    run_cmd->callback([ro, run_cmd] {
        ro->seed_given = run_cmd->get_option("--seed")->count() > 0;
        run(*ro);
    });

    auto co = std::make_shared<RunOptions>();
    auto* chat_cmd = app.add_subcommand("chat", "Chat with a model (reads lines from stdin; /clear, /exit)");
    co->model.add_to(chat_cmd);
    co->generate.n_predict = 512;
    chat_cmd->add_option("-n,--n-predict", co->generate.n_predict, "Tokens per answer at most")->capture_default_str();
    add_sampling_options(chat_cmd, co->generate.sampling);
    chat_cmd->add_option("--system", co->system, "System message");
    chat_cmd->callback([co, chat_cmd] {
        co->seed_given = chat_cmd->get_option("--seed")->count() > 0;
        chat(*co);
    });
}

}  // namespace lowbit::cli
