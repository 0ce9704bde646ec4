// `lowbit tokenize -m MODEL (-p TEXT | -f FILE) [--json] [--no-bos] [--no-special]`: the
// token ids of a text under a model's tokenizer, with each token's piece.
#include <fmt/core.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "commands.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf_reader.hpp"
#include "lowbit/stream_decoder.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::cli {
namespace {

struct TokenizeOptions {
    std::string model;
    std::string prompt;
    std::string file;
    bool json = false;
    bool no_bos = false;
    bool no_special = false;
    CLI::Option* prompt_option = nullptr;
    CLI::Option* file_option = nullptr;
};

// The length of the UTF-8 sequence a lead byte starts (0: not a lead byte).
std::size_t sequence_length(unsigned char b) {
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) return 3;
    if (b >= 0xF0 && b <= 0xF4) return 4;
    return 0;
}

// A piece made readable and unambiguous: complete UTF-8 characters as themselves; backslash,
// newline, tab and carriage return as \\ \n \t \r; other control characters and bytes that
// are not part of a complete character (a token may hold part of one) as \xHH.
std::string escape_piece(std::string_view bytes) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size();) {
        const auto b = static_cast<unsigned char>(bytes[i]);
        if (b == '\\') {
            out += "\\\\";
        } else if (b == '\n') {
            out += "\\n";
        } else if (b == '\t') {
            out += "\\t";
        } else if (b == '\r') {
            out += "\\r";
        } else if (b >= 0x20 && b < 0x7F) {
            out += static_cast<char>(b);
        } else {
            const std::size_t len = sequence_length(b);
            const std::string_view seq = bytes.substr(i, len);
            // A sequence is valid exactly when repairing it changes nothing.
            if (len != 0 && seq.size() == len && repair_utf8(seq) == seq) {
                out += seq;
                i += len;
                continue;
            }
            out += fmt::format("\\x{:02X}", b);
        }
        ++i;
    }
    return out;
}

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, ": cannot open: ", std::strerror(errno));
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) fail(path, ": cannot read");
    return text;
}

void run_tokenize(const TokenizeOptions& o) {
    const bool has_prompt = o.prompt_option->count() > 0;
    if (has_prompt == (o.file_option->count() > 0)) fail("tokenize: give the text with one of -p TEXT or -f FILE");
    const std::string text = has_prompt ? o.prompt : read_text_file(o.file);

    const GgufFile model = GgufFile::open(o.model);
    const Tokenizer tokenizer(model.metadata());
    const std::vector<int32_t> ids = tokenizer.encode(text, tokenizer.add_bos() && !o.no_bos, !o.no_special);

    if (o.json) {
        nlohmann::ordered_json j;
        j["tokens"] = ids;
        j["pieces"] = nlohmann::ordered_json::array();
        for (const int32_t id : ids) j["pieces"].push_back(escape_piece(tokenizer.piece(id)));
        fmt::print("{}\n", j.dump());
        return;
    }
    for (const int32_t id : ids) fmt::print("{}\t{}\n", id, escape_piece(tokenizer.piece(id)));
    fmt::print("{} tokens\n", ids.size());
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
    auto opts = std::make_shared<TokenizeOptions>();
    auto* cmd = app.add_subcommand("tokenize", "Show the token ids of a text under a model's tokenizer");
    cmd->add_option("-m,--model", opts->model, "A GGUF model file (its tokenizer.* metadata is used)")->required();
    opts->prompt_option = cmd->add_option("-p,--prompt", opts->prompt, "The text to tokenize");
    opts->file_option = cmd->add_option("-f,--file", opts->file, "A file holding the text (any bytes)");
    cmd->add_flag("--json", opts->json, R"(Print {"tokens": [...], "pieces": [...]})");
    cmd->add_flag("--no-bos", opts->no_bos, "Do not add the BOS token (added when the model asks for it)");
    cmd->add_flag("--no-special", opts->no_special,
                  "Treat special-token text such as <|eot_id|> as plain text rather than special tokens");
    cmd->callback([opts] { run_tokenize(*opts); });
}

}  // namespace lowbit::cli
