// StreamDecoder and repair_utf8: characters split across tokens are held back until whole,
// broken bytes become U+FFFD exactly as the Unicode Standard's recommended practice says, and
// streaming gives the same text as decoding everything at once.
#include "lowbit/stream_decoder.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "io/io_test_util.hpp"
#include "llm/llm_test_util.hpp"
#include "lowbit/byte_level_tokenizer.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::test {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

Tokenizer byte_level(int64_t vocab_size = 1000) {
    Metadata md;
    write_byte_level_tokenizer(md, vocab_size);
    return Tokenizer(md);
}

TEST(StreamDecoder, EmojiSplitAcrossTokensPrintsWhenComplete) {
    const Tokenizer t = byte_level();
    const std::string emoji = "\xF0\x9F\x98\x80";  // U+1F600, one token per byte here
    const std::vector<int32_t> ids = t.encode("ok " + emoji + "!", false, false);
    ASSERT_EQ(ids.size(), 8u);
    StreamDecoder d(t);
    EXPECT_EQ(d.push(ids[0]), "o");
    EXPECT_EQ(d.push(ids[1]), "k");
    EXPECT_EQ(d.push(ids[2]), " ");
    EXPECT_EQ(d.push(ids[3]), "");
    EXPECT_EQ(d.pending(), 1u);
    EXPECT_EQ(d.push(ids[4]), "");
    EXPECT_EQ(d.push(ids[5]), "");
    EXPECT_EQ(d.pending(), 3u);
    EXPECT_EQ(d.push(ids[6]), emoji);
    EXPECT_EQ(d.pending(), 0u);
    EXPECT_EQ(d.push(ids[7]), "!");
    EXPECT_EQ(d.flush(), "");
}

TEST(StreamDecoder, ZwjSequenceConcatenatesToDecode) {
    const Tokenizer t = byte_level();
    const std::string text = "family \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 done";
    const std::vector<int32_t> ids = t.encode(text, false, false);
    StreamDecoder d(t);
    std::string out;
    for (const int32_t id : ids) {
        const std::string part = d.push(id);
        EXPECT_EQ(repair_utf8(part), part) << "a push printed broken UTF-8";
        out += part;
    }
    out += d.flush();
    EXPECT_EQ(out, t.decode(ids));
    EXPECT_EQ(out, text);
}

TEST(StreamDecoder, IncompleteCharacterAtTheEndIsOneReplacement) {
    const Tokenizer t = byte_level();
    StreamDecoder d(t);
    EXPECT_EQ(d.push('a'), "a");
    EXPECT_EQ(d.push(0xF0), "");
    EXPECT_EQ(d.push(0x9F), "");
    EXPECT_EQ(d.flush(), kFffd);
    EXPECT_EQ(d.flush(), "");
    EXPECT_EQ(d.push('b'), "b");  // usable again after flush
}

TEST(StreamDecoder, BrokenBytesPrintAsSoonAsTheyAreBroken) {
    const Tokenizer t = byte_level();
    StreamDecoder d(t);
    EXPECT_EQ(d.push(0xE2), "");
    EXPECT_EQ(d.push('x'), kFffd + "x");  // E2 cannot continue with 'x'
    EXPECT_EQ(d.push(0x80), kFffd);       // a lone continuation byte
    EXPECT_EQ(d.push(0xC0), kFffd);       // never valid
}

TEST(StreamDecoder, ControlTokensSkippedOnRequest) {
    const Tokenizer t = byte_level();
    StreamDecoder all(t), text_only(t, true);
    EXPECT_EQ(all.push(t.bos()), "<|begin_of_text|>");
    EXPECT_EQ(text_only.push(t.bos()), "");
    EXPECT_EQ(text_only.push('h'), "h");
}

TEST(StreamDecoder, UnknownIdThrowsAndKeepsState) {
    const Tokenizer t = byte_level();
    StreamDecoder d(t);
    EXPECT_EQ(d.push(0xC3), "");
    EXPECT_ERROR(d.push(1000), "token id 1000");
    EXPECT_ERROR(d.push(-1), "token id -1");
    EXPECT_EQ(d.push(0xA9), "\xC3\xA9");
}

// The worked example of the Unicode Standard (chapter 3, "U+FFFD Substitution of Maximal
// Subparts", table 3-8), and further cases derived from table 3-7 by hand.
TEST(RepairUtf8, UnicodeStandardExamples) {
    EXPECT_EQ(repair_utf8("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
              "a" + kFffd + kFffd + kFffd + "b" + kFffd + "c" + kFffd + kFffd + "d");
    EXPECT_EQ(repair_utf8(""), "");
    EXPECT_EQ(repair_utf8("plain ASCII\n"), "plain ASCII\n");
    EXPECT_EQ(repair_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    EXPECT_EQ(repair_utf8("\xC0\xAF"), kFffd + kFffd);                          // overlong: C0 never starts a sequence
    EXPECT_EQ(repair_utf8("\xE0\x80\xAF"), kFffd + kFffd + kFffd);              // E0 needs A0..BF next
    EXPECT_EQ(repair_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);              // a surrogate
    EXPECT_EQ(repair_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
    EXPECT_EQ(repair_utf8("\xF0\x9F\x98"), kFffd);                              // truncated at the end
    EXPECT_EQ(repair_utf8("\xF0\x9F\x98x"), kFffd + "x");
    EXPECT_EQ(repair_utf8("\xE2\x82"), kFffd);
    EXPECT_EQ(repair_utf8("\xFF\xFE"), kFffd + kFffd);
    EXPECT_EQ(repair_utf8(std::string("\0a", 2)), std::string("\0a", 2));
}

TEST(StreamDecoder, StreamingEqualsDecodingAtOnce) {
    const Tokenizer t = byte_level();
    std::mt19937 rng(20261122);
    for (int round = 0; round < 300; ++round) {
        const std::string bytes = round % 2 ? random_bytes(rng, rng() % 40) : random_utf8(rng, rng() % 20);
        const std::vector<int32_t> ids = t.encode(bytes, false, false);
        StreamDecoder d(t);
        std::string out;
        for (const int32_t id : ids) {
            const std::string part = d.push(id);
            ASSERT_EQ(repair_utf8(part), part);
            out += part;
            ASSERT_LE(d.pending(), 3u);
        }
        out += d.flush();
        EXPECT_EQ(out, repair_utf8(t.decode(ids))) << "round " << round;
        if (round % 2 == 0) {
            EXPECT_EQ(out, bytes) << "round " << round;
        }
    }
}

}  // namespace
}  // namespace lowbit::test
