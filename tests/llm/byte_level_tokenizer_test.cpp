// write_byte_level_tokenizer: the layout it promises (bytes first in GPT-2's spelling,
// Llama-3's special ids, fillers) and that any text, valid UTF-8 or not, round-trips.
#include "lowbit/byte_level_tokenizer.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "io/io_test_util.hpp"
#include "llm/llm_test_util.hpp"
#include "lowbit/gguf_reader.hpp"
#include "lowbit/gguf_writer.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::test {
namespace {

std::vector<std::string> token_texts(const Metadata& md) {
    std::vector<std::string> out;
    for (const MetaValue& v : md.get_array("tokenizer.ggml.tokens").items) out.push_back(*v.as_string());
    return out;
}

TEST(ByteLevelTokenizer, Llama3Layout) {
    Metadata md;
    write_byte_level_tokenizer(md, 128256);
    const std::vector<std::string> texts = token_texts(md);
    ASSERT_EQ(texts.size(), 128256u);
    for (int b = 0; b < 256; ++b) EXPECT_EQ(texts[b], gpt2_spelling(static_cast<uint8_t>(b))) << b;
    EXPECT_EQ(texts[128000], "<|begin_of_text|>");
    EXPECT_EQ(texts[128001], "<|end_of_text|>");
    EXPECT_EQ(texts[128006], "<|start_header_id|>");
    EXPECT_EQ(texts[128007], "<|end_header_id|>");
    EXPECT_EQ(texts[128009], "<|eot_id|>");
    EXPECT_EQ(texts[128255], "<|reserved_special_token_247|>");
    EXPECT_EQ(md.get_array("tokenizer.ggml.merges").items.size(), 0u);

    const Tokenizer t(md);
    EXPECT_EQ(t.vocab_size(), 128256);
    EXPECT_EQ(t.bos(), 128000);
    EXPECT_EQ(t.eos(), 128001);
    EXPECT_EQ(t.eot(), 128009);
    EXPECT_TRUE(t.add_bos());
    EXPECT_TRUE(t.is_end_of_generation(128009));
    EXPECT_TRUE(t.is_end_of_generation(128001));
    EXPECT_FALSE(t.is_end_of_generation(128000));
    EXPECT_EQ(t.token_type(128006), TokenType::control);
    EXPECT_EQ(t.token_type(300), TokenType::unused);
    EXPECT_EQ(t.token_type(65), TokenType::normal);
    EXPECT_EQ(t.encode("<|start_header_id|>user<|end_header_id|>", true, true),
              (std::vector<int32_t>{128000, 128006, 'u', 's', 'e', 'r', 128007}));
}

TEST(ByteLevelTokenizer, SpecialTokensAtTheTopOtherwise) {
    Metadata md;
    write_byte_level_tokenizer(md, 300);
    const std::vector<std::string> texts = token_texts(md);
    ASSERT_EQ(texts.size(), 300u);
    EXPECT_EQ(texts[295], "<|begin_of_text|>");
    EXPECT_EQ(texts[296], "<|end_of_text|>");
    EXPECT_EQ(texts[297], "<|start_header_id|>");
    EXPECT_EQ(texts[298], "<|end_header_id|>");
    EXPECT_EQ(texts[299], "<|eot_id|>");
    const Tokenizer t(md);
    EXPECT_EQ(t.bos(), 295);
    EXPECT_EQ(t.eos(), 296);
    EXPECT_EQ(t.eot(), 299);
    EXPECT_EQ(t.piece(256), "<|filler_256|>");
    EXPECT_EQ(t.encode("<|filler_256|>", false, true), byte_ids("<|filler_256|>"));  // fillers never match

    Metadata smallest;
    write_byte_level_tokenizer(smallest, 261);
    EXPECT_EQ(Tokenizer(smallest).bos(), 256);
}

TEST(ByteLevelTokenizer, SizesItCannotHoldAreErrors) {
    Metadata md;
    EXPECT_ERROR(write_byte_level_tokenizer(md, 260), "vocabulary size 260");
    EXPECT_ERROR(write_byte_level_tokenizer(md, 0), "vocabulary size 0");
    EXPECT_ERROR(write_byte_level_tokenizer(md, int64_t{1} << 31), "vocabulary size 2147483648");
    EXPECT_FALSE(md.contains("tokenizer.ggml.tokens"));
}

TEST(ByteLevelTokenizer, RoundTripsRandomUtf8AndArbitraryBytes) {
    Metadata md;
    write_byte_level_tokenizer(md, 128256);
    const Tokenizer t(md);
    std::mt19937 rng(42);
    for (int round = 0; round < 2000; ++round) {
        const std::string text = round % 2 ? random_bytes(rng, rng() % 64) : random_utf8(rng, rng() % 64);
        // Without special tokens in the text, each byte is its own token, id = byte value.
        const std::vector<int32_t> ids = t.encode(text, false, false);
        ASSERT_EQ(ids, byte_ids(text)) << "round " << round;
        ASSERT_EQ(t.decode(ids), text) << "round " << round;
        ASSERT_EQ(t.decode(t.encode(text, true, true), true), text) << "round " << round;
    }
    // Special-token text round-trips too: as the special token when parsed, as bytes when not.
    const std::string chat = "a<|eot_id|>b<|reserved_special_token_5|>";
    EXPECT_EQ(t.decode(t.encode(chat, false, true)), chat);
    EXPECT_EQ(t.encode(chat, false, true).size(), 4u);
    EXPECT_EQ(t.decode(t.encode(chat, false, false)), chat);
}

TEST(ByteLevelTokenizer, ThroughAGgufFile) {
    TempDir dir;
    const auto path = dir / "synthetic.gguf";
    {
        GgufWriter w(path);
        w.metadata().set("general.architecture", "llama");
        write_byte_level_tokenizer(w.metadata(), 512);
        w.finish();
    }
    const GgufFile g = GgufFile::open(path);
    const Tokenizer t(g.metadata());
    const std::string text = std::string("bytes \xFF\x00", 8) + " and \xE2\x82\xAC";
    EXPECT_EQ(t.decode(t.encode(text, false, true)), text);
    EXPECT_EQ(t.eot(), 511);
}

}  // namespace
}  // namespace lowbit::test
