// lowbit's tokenizer against an independent one: the Llama-3 tokenizer of the npm package
// llama3-tokenizer-js, which bundles Meta's real vocabulary and merges. At test time
// tests/llm/llama3_oracle.mjs (Node) exports that vocabulary and those merges and encodes
// every text; lowbit builds a GGUF tokenizer from the exported vocabulary and must produce
// the same ids for every text, with special tokens parsed and not parsed. The texts: the
// committed corpus (tests/llm/tokenizer_corpus.json), the whole corpus as one text, random
// mixes of fragments, and chat prompts. `make test` installs the package into the build
// tree (scripts/install-test-oracle.sh); without it these tests are skipped, saying so.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "io/io_test_util.hpp"
#include "llm/llm_test_util.hpp"
#include "lowbit/byte_level_tokenizer.hpp"
#include "lowbit/chat.hpp"
#include "lowbit/metadata.hpp"
#include "lowbit/stream_decoder.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Ids = std::vector<int32_t>;

// Where the texts come from, for messages and counts.
enum class Source { corpus, whole_corpus, random_mix, chat };

struct Case {
    Source source;
    std::string text;
    Ids special;  // the oracle's ids with special tokens parsed
    Ids plain;    // and not parsed
};

struct Oracle {
    std::string skip;   // why the tests are skipped (the package is not installed)
    std::string error;  // why setting up failed
    std::string version;
    std::size_t tokens = 0, merges = 0;
    std::vector<std::string> token_texts;
    std::vector<Case> cases;
    std::vector<std::string> byte_strings;  // random bytes, and
    std::vector<std::string> text_decoder;  // what Node's TextDecoder makes of them
    std::unique_ptr<Tokenizer> tokenizer;
};

std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

std::string hex(std::string_view bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (char c : bytes) {
        out += kHex[static_cast<uint8_t>(c) >> 4];
        out += kHex[static_cast<uint8_t>(c) & 15];
    }
    return out;
}

// Random concatenations of fragments that exercise the pre-tokenizer's alternatives and their
// boundaries (deterministic: the same texts every run).
std::vector<std::string> random_mixes(std::size_t count) {
    static const std::vector<std::string> kFragments = {"a",
                                                        "the",
                                                        "The",
                                                        " ",
                                                        "  ",
                                                        "   ",
                                                        "\t",
                                                        "\n",
                                                        "\n\n",
                                                        "\r\n",
                                                        "\r",
                                                        "Hello",
                                                        "world",
                                                        "x",
                                                        "'s",
                                                        "'S",
                                                        "'ll",
                                                        "'LL",
                                                        "'t",
                                                        "'re",
                                                        "'Ve",
                                                        "'m",
                                                        "'d",
                                                        "'",
                                                        "\"",
                                                        "`",
                                                        "123",
                                                        "4567",
                                                        "0",
                                                        "3.14",
                                                        "-",
                                                        "+",
                                                        "!!",
                                                        "?",
                                                        "...",
                                                        ",",
                                                        ";",
                                                        ":",
                                                        "(",
                                                        ")",
                                                        "{",
                                                        "}",
                                                        "[",
                                                        "]",
                                                        "<",
                                                        ">",
                                                        "/",
                                                        "\\",
                                                        "#",
                                                        "$",
                                                        "%",
                                                        "_",
                                                        "=",
                                                        "é",
                                                        "ü",
                                                        "ß",
                                                        "Ω",
                                                        "ж",
                                                        "ñ",
                                                        "日本",
                                                        "中文",
                                                        "한국",
                                                        "ภา",
                                                        "ि",
                                                        "ا",
                                                        "😀",
                                                        "👍🏽",
                                                        "👨‍👩‍👧",
                                                        "🏳️‍🌈",
                                                        "\u200d",
                                                        "\u00a0",
                                                        "\u3000",
                                                        "\u2028",
                                                        "\u0301",
                                                        "x²",
                                                        "٣",
                                                        "Ⅻ",
                                                        "½",
                                                        "—",
                                                        "…",
                                                        "€",
                                                        "<|eot_id|>",
                                                        "<|begin_of_text|>",
                                                        "<|start_header_id|>",
                                                        "<|",
                                                        "|>",
                                                        "eot_id",
                                                        "\u0000",
                                                        "\u007f",
                                                        "ﬁ",
                                                        "İ",
                                                        "ı"};
    std::mt19937 rng(1234567);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < count; ++i) {
        std::string s;
        const std::size_t n = 1 + rng() % 24;
        for (std::size_t k = 0; k < n; ++k) s += kFragments[rng() % kFragments.size()];
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<Case> all_texts() {
    std::vector<Case> cases;
    std::ifstream in(LOWBIT_TOKENIZER_CORPUS, std::ios::binary);
    const json corpus = json::parse(in);
    std::string whole;
    for (const auto& t : corpus.at("texts")) {
        cases.push_back({Source::corpus, t.get<std::string>(), {}, {}});
        whole += t.get<std::string>() + "\n";
    }
    cases.push_back({Source::whole_corpus, whole, {}, {}});
    for (std::string& s : random_mixes(600)) cases.push_back({Source::random_mix, std::move(s), {}, {}});
    const std::vector<ChatMessage> chat = {{"system", "You are a helpful assistant. Answer briefly."},
                                           {"user", "Wie spät ist es in 東京? 😀\n\nThanks!"},
                                           {"assistant", "It's 3 p.m. there."},
                                           {"user", "  and\tnow?  "}};
    cases.push_back({Source::chat, format_llama3_chat(chat, true), {}, {}});
    cases.push_back(
        {Source::chat, format_llama3_chat(std::vector<ChatMessage>(chat.begin(), chat.begin() + 2), false), {}, {}});
    return cases;
}

Ids ids_of(const json& j) { return j.get<Ids>(); }

// The GGUF metadata llama.cpp's converter writes for Llama-3, from the oracle's vocabulary:
// normal tokens, then the special tokens as control tokens.
Metadata llama3_metadata(const json& out) {
    Metadata md("llama3-oracle");
    const auto tokens = out.at("tokens").get<std::vector<std::string>>();
    const auto first_special = out.at("first_special").get<std::size_t>();
    std::vector<int32_t> types(tokens.size(), static_cast<int32_t>(TokenType::normal));
    uint32_t bos = 0, eos = 0, eot = 0;
    for (std::size_t i = first_special; i < tokens.size(); ++i) {
        types[i] = static_cast<int32_t>(TokenType::control);
        if (tokens[i] == "<|begin_of_text|>") bos = static_cast<uint32_t>(i);
        if (tokens[i] == "<|end_of_text|>") eos = static_cast<uint32_t>(i);
        if (tokens[i] == "<|eot_id|>") eot = static_cast<uint32_t>(i);
    }
    md.set("tokenizer.ggml.model", "gpt2");
    md.set("tokenizer.ggml.pre", "llama-bpe");
    md.set("tokenizer.ggml.tokens", MetaValue::strings(tokens));
    md.set("tokenizer.ggml.token_type", MetaValue::array_of<int32_t>(types));
    md.set("tokenizer.ggml.merges", MetaValue::strings(out.at("merges").get<std::vector<std::string>>()));
    md.set("tokenizer.ggml.bos_token_id", bos);
    md.set("tokenizer.ggml.eos_token_id", eos);
    md.set("tokenizer.ggml.eot_token_id", eot);
    return md;
}

Oracle load_oracle() {
    Oracle o;
    const fs::path prefix = LOWBIT_NPM_PREFIX;
    if (!fs::exists(prefix / "node_modules" / "llama3-tokenizer-js" / "package.json")) {
        o.skip = "the npm package llama3-tokenizer-js is not installed in " + prefix.string() +
                 "; `make test` installs it (scripts/install-test-oracle.sh " + prefix.string() + ")";
        return o;
    }
    try {
        TempDir dir;
        o.cases = all_texts();
        std::mt19937 rng(777);
        for (int i = 0; i < 400; ++i) o.byte_strings.push_back(random_bytes(rng, rng() % 24));
        json input;
        input["texts"] = json::array();
        for (const Case& c : o.cases) input["texts"].push_back(c.text);
        input["byte_strings"] = json::array();
        for (const std::string& b : o.byte_strings) input["byte_strings"].push_back(hex(b));
        write_text(dir / "input.json", input.dump());

        const std::string command = "node " + shell_quote(LOWBIT_ORACLE_SCRIPT) + " " + shell_quote(prefix.string()) +
                                    " " + shell_quote((dir / "input.json").string()) + " " +
                                    shell_quote((dir / "output.json").string()) + " 2>" +
                                    shell_quote((dir / "stderr.txt").string());
        const int status = std::system(command.c_str());
        if (status != 0) {
            const auto err = read_file(dir / "stderr.txt");
            o.error = "the oracle script failed (exit status " + std::to_string(WEXITSTATUS(status)) +
                      "; is Node.js installed?): " + std::string(err.begin(), err.end());
            return o;
        }
        std::ifstream in(dir / "output.json", std::ios::binary);
        const json out = json::parse(in);
        o.version = out.at("package_version").get<std::string>();
        o.token_texts = out.at("tokens").get<std::vector<std::string>>();
        o.tokens = o.token_texts.size();
        o.merges = out.at("merges").size();
        const json& results = out.at("results");
        if (results.size() != o.cases.size()) {
            o.error = "the oracle answered " + std::to_string(results.size()) + " of " +
                      std::to_string(o.cases.size()) + " texts";
            return o;
        }
        for (std::size_t i = 0; i < o.cases.size(); ++i) {
            o.cases[i].special = ids_of(results[i].at("special"));
            o.cases[i].plain = ids_of(results[i].at("plain"));
        }
        o.text_decoder = out.at("text_decoder").get<std::vector<std::string>>();
        o.tokenizer = std::make_unique<Tokenizer>(llama3_metadata(out));
    } catch (const std::exception& e) {
        o.error = std::string("setting up the oracle failed: ") + e.what();
    }
    return o;
}

const Oracle& oracle() {
    static const Oracle o = load_oracle();
    return o;
}

#define REQUIRE_ORACLE(o)                        \
    const Oracle& o = oracle();                  \
    if (!o.skip.empty()) GTEST_SKIP() << o.skip; \
    ASSERT_TRUE(o.error.empty()) << o.error;     \
    ASSERT_NE(o.tokenizer, nullptr)

std::string printable(std::string_view s) {
    std::string out;
    for (char c : s) {
        const auto u = static_cast<uint8_t>(c);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\r') {
            out += "\\r";
        } else if (u < 0x20 || u == 0x7F) {
            out += "\\x";
            out += hex(std::string_view(&c, 1));
        } else {
            out += c;
        }
    }
    return out;
}

// A failure message that shows where lowbit and the oracle part ways.
std::string mismatch(const Tokenizer& t, const std::string& text, const Ids& want, const Ids& got) {
    std::size_t i = 0;
    while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
    std::string m = "text \"" + printable(text) + "\"\nfirst difference at token " + std::to_string(i) + "\n";
    const auto show = [&](const char* who, const Ids& ids) {
        m += who;
        for (std::size_t k = i >= 3 ? i - 3 : 0; k < ids.size() && k < i + 5; ++k) {
            // Appended part by part: `" " + std::string` trips GCC 12's -Wrestrict false positive.
            const bool known = ids[k] >= 0 && ids[k] < t.vocab_size();
            m += ' ';
            m += std::to_string(ids[k]);
            m += '"';
            m += known ? printable(t.piece(ids[k])) : std::string("?");
            m += '"';
        }
        m += "\n";
    };
    show("oracle:", want);
    show("lowbit:", got);
    return m;
}

// Compares every case from `source`; returns (texts, tokens) compared.
std::pair<std::size_t, std::size_t> compare(const Oracle& o, Source source, bool parse_special) {
    std::size_t texts = 0, tokens = 0;
    for (const Case& c : o.cases) {
        if (c.source != source) continue;
        const Ids& want = parse_special ? c.special : c.plain;
        const Ids got = o.tokenizer->encode(c.text, false, parse_special);
        EXPECT_EQ(got, want) << mismatch(*o.tokenizer, c.text, want, got);
        ++texts;
        tokens += want.size();
    }
    return {texts, tokens};
}

void report(const char* what, std::pair<std::size_t, std::size_t> special, std::pair<std::size_t, std::size_t> plain) {
    std::printf("[  oracle  ] %s: %zu texts, %zu + %zu tokens (special tokens parsed + not parsed) compared\n", what,
                special.first, special.second, plain.second);
    ::testing::Test::RecordProperty("texts", static_cast<int>(special.first));
    ::testing::Test::RecordProperty("tokens", static_cast<int>(special.second + plain.second));
}

TEST(Llama3Oracle, PackageHoldsTheLlama3Vocabulary) {
    REQUIRE_ORACLE(o);
    EXPECT_EQ(o.version, "1.2.0");
    EXPECT_EQ(o.tokens, 128256u);
    EXPECT_EQ(o.merges, 280147u);  // as the 2B4T GGUF (docs: spec "Tokenizer and text")
    const Tokenizer& t = *o.tokenizer;
    EXPECT_EQ(t.vocab_size(), 128256);
    EXPECT_EQ(t.bos(), 128000);
    EXPECT_EQ(t.eos(), 128001);
    EXPECT_EQ(t.eot(), 128009);
}

TEST(Llama3Oracle, CorpusMatches) {
    REQUIRE_ORACLE(o);
    report("corpus", compare(o, Source::corpus, true), compare(o, Source::corpus, false));
}

TEST(Llama3Oracle, WholeCorpusAsOneTextMatches) {
    REQUIRE_ORACLE(o);
    report("whole corpus", compare(o, Source::whole_corpus, true), compare(o, Source::whole_corpus, false));
}

TEST(Llama3Oracle, RandomMixesMatch) {
    REQUIRE_ORACLE(o);
    report("random mixes", compare(o, Source::random_mix, true), compare(o, Source::random_mix, false));
}

TEST(Llama3Oracle, ChatPromptsMatch) {
    REQUIRE_ORACLE(o);
    report("chat prompts", compare(o, Source::chat, true), compare(o, Source::chat, false));
    // Built part by part, the chat prompts give the oracle's ids for the whole text.
    const std::vector<ChatMessage> chat = {{"system", "You are a helpful assistant. Answer briefly."},
                                           {"user", "Wie spät ist es in 東京? 😀\n\nThanks!"}};
    for (const Case& c : o.cases) {
        if (c.source == Source::chat && c.text == format_llama3_chat(chat, false)) {
            EXPECT_EQ(encode_llama3_chat(*o.tokenizer, chat, false), c.special);
        }
    }
}

TEST(Llama3Oracle, DecodeAndStreamGiveTheTextBack) {
    REQUIRE_ORACLE(o);
    const Tokenizer& t = *o.tokenizer;
    std::size_t held_back = 0;
    for (const Case& c : o.cases) {
        for (const Ids* ids : {&c.special, &c.plain}) {
            ASSERT_EQ(t.decode(*ids), c.text);
            StreamDecoder d(t);
            std::string streamed;
            for (const int32_t id : *ids) {
                const std::string part = d.push(id);
                ASSERT_EQ(repair_utf8(part), part);
                held_back += d.pending() > 0;
                streamed += part;
            }
            streamed += d.flush();
            ASSERT_EQ(streamed, c.text);
        }
    }
    // The corpus has emoji and CJK that the Llama-3 vocabulary splits inside a character.
    EXPECT_GT(held_back, 0u);
}

TEST(Llama3Oracle, RepairMatchesTextDecoder) {
    REQUIRE_ORACLE(o);
    ASSERT_EQ(o.text_decoder.size(), o.byte_strings.size());
    for (std::size_t i = 0; i < o.byte_strings.size(); ++i) {
        EXPECT_EQ(repair_utf8(o.byte_strings[i]), o.text_decoder[i]) << "bytes " << hex(o.byte_strings[i]);
    }
}

TEST(Llama3Oracle, ByteLevelBuilderUsesLlama3SpecialTokens) {
    REQUIRE_ORACLE(o);
    Metadata md;
    write_byte_level_tokenizer(md, 128256);
    const MetaArray& tokens = md.get_array("tokenizer.ggml.tokens");
    for (std::size_t i = 128000; i < 128256; ++i) {
        EXPECT_EQ(*tokens.items[i].as_string(), o.token_texts[i]) << "id " << i;
    }
    // Its byte tokens are spelled as Llama-3 spells single bytes.
    const std::set<std::string> vocabulary(o.token_texts.begin(), o.token_texts.end());
    for (std::size_t b = 0; b < 256; ++b) EXPECT_EQ(vocabulary.count(*tokens.items[b].as_string()), 1u) << b;
}

}  // namespace
}  // namespace lowbit::test
