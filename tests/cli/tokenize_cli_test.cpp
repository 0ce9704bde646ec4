// `lowbit tokenize` end to end: ids and escaped pieces as a table and as JSON, the BOS and
// special-token switches, text from a file (any bytes), and errors as exit status 1.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/cli_run.hpp"
#include "io/io_test_util.hpp"
#include "llm/llm_test_util.hpp"
#include "lowbit/gguf_writer.hpp"

namespace lowbit::test {
namespace {

// ids: bytes 0..255, 256 "é", 257 " world", 258 <s>, 259 </s>, 260 <|eot_id|>.
std::string write_model(const TempDir& dir, const Metadata& md, const char* name = "tok.gguf") {
    const std::string path = (dir / name).string();
    GgufWriter w(path);
    w.metadata().set("general.architecture", "llama");
    for (const auto& [key, value] : md.entries()) w.metadata().set(key, value);
    w.finish();
    return path;
}

Metadata vocab() {
    TinyVocab v;
    v.words = {"\xC3\xA9", " world"};
    v.specials = {"<s>", "</s>", "<|eot_id|>"};
    return v.metadata();
}

TEST(TokenizeCli, TableWithEscapedPieces) {
    TempDir dir;
    const std::string model = write_model(dir, vocab());
    const CliRun r = lowbit(dir, "tokenize -m " + quoted(model) + " -p " + quoted("\xC3\xA9 world\\\t\n<|eot_id|>"));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out,
              "258\t<s>\n"
              "256\t\xC3\xA9\n"
              "257\t world\n"
              "92\t\\\\\n"
              "9\t\\t\n"
              "10\t\\n\n"
              "260\t<|eot_id|>\n"
              "7 tokens\n");

    const CliRun plain = lowbit(dir, "tokenize --no-bos --no-special -m " + quoted(model) + " -p " + quoted("<|e"));
    ASSERT_EQ(plain.status, 0) << plain.err;
    EXPECT_EQ(plain.out, "60\t<\n124\t|\n101\te\n3 tokens\n");
}

TEST(TokenizeCli, JsonAndBytesFromAFile) {
    TempDir dir;
    const std::string model = write_model(dir, vocab());
    write_text(dir / "text.bin", std::string("\xF0\x9F\x98\x80 \xFF\x00\x7F", 8));
    const CliRun r =
        lowbit(dir, "tokenize --json --no-bos -m " + quoted(model) + " -f " + quoted((dir / "text.bin").string()));
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    // No merges: the emoji is four byte tokens, each piece part of a character.
    EXPECT_EQ(j["tokens"], (std::vector<int>{0xF0, 0x9F, 0x98, 0x80, ' ', 0xFF, 0, 0x7F}));
    EXPECT_EQ(j["pieces"],
              (std::vector<std::string>{"\\xF0", "\\x9F", "\\x98", "\\x80", " ", "\\xFF", "\\x00", "\\x7F"}));
    EXPECT_EQ(j.size(), 2u);

    write_text(dir / "empty.txt", "");
    const CliRun empty =
        lowbit(dir, "tokenize --json -m " + quoted(model) + " -f " + quoted((dir / "empty.txt").string()));
    ASSERT_EQ(empty.status, 0) << empty.err;
    EXPECT_EQ(nlohmann::json::parse(empty.out)["tokens"], std::vector<int>{258});
}

TEST(TokenizeCli, ErrorsExitWithStatusOne) {
    TempDir dir;
    const std::string model = write_model(dir, vocab());
    const CliRun neither = lowbit(dir, "tokenize -m " + quoted(model));
    EXPECT_EQ(neither.status, 1);
    EXPECT_TRUE(contains(neither.err, "lowbit: error: tokenize: give the text with one of -p TEXT or -f FILE"))
        << neither.err;
    const CliRun both = lowbit(dir, "tokenize -m " + quoted(model) + " -p x -f " + quoted(model));
    EXPECT_EQ(both.status, 1);

    const CliRun no_file = lowbit(dir, "tokenize -m " + quoted(model) + " -f " + quoted((dir / "none.txt").string()));
    EXPECT_EQ(no_file.status, 1);
    EXPECT_TRUE(contains(no_file.err, "none.txt: cannot open")) << no_file.err;

    const CliRun no_model = lowbit(dir, "tokenize -m " + quoted((dir / "none.gguf").string()) + " -p x");
    EXPECT_EQ(no_model.status, 1);
    EXPECT_TRUE(contains(no_model.err, "none.gguf")) << no_model.err;

    Metadata no_tokenizer;
    no_tokenizer.set("general.name", "bare");
    const std::string bare = write_model(dir, no_tokenizer, "bare.gguf");
    const CliRun missing = lowbit(dir, "tokenize -m " + quoted(bare) + " -p x");
    EXPECT_EQ(missing.status, 1);
    EXPECT_EQ(missing.err, "lowbit: error: " + bare + ": metadata key 'tokenizer.ggml.model' is missing\n");

    Metadata spm = vocab();
    spm.set("tokenizer.ggml.model", "llama");
    const std::string llama = write_model(dir, spm, "spm.gguf");
    const CliRun wrong = lowbit(dir, "tokenize -m " + quoted(llama) + " -p x");
    EXPECT_EQ(wrong.status, 1);
    EXPECT_TRUE(contains(wrong.err, "tokenizer.ggml.model is 'llama'")) << wrong.err;
    EXPECT_TRUE(wrong.out.empty());

    EXPECT_NE(lowbit(dir, "tokenize -p x").status, 0);  // -m is required
}

}  // namespace
}  // namespace lowbit::test
