// The tokenizer on small hand-made vocabularies: BPE merge order, special tokens, byte-wise
// handling of invalid UTF-8, decoding, and every way the metadata can be wrong. Expected ids
// are worked out by hand from the vocabulary in each test.
#include "lowbit/tokenizer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/io_test_util.hpp"
#include "llm/llm_test_util.hpp"
#include "llm/special_tokens.hpp"
#include "lowbit/gguf_reader.hpp"
#include "lowbit/gguf_writer.hpp"

namespace lowbit::test {
namespace {

using Ids = std::vector<int32_t>;

TEST(Tokenizer, LowerRankMergesFirst) {
    TinyVocab v;
    v.words = {"ab", "bc"};
    v.merges = {{"b", "c"}, {"a", "b"}};
    const Tokenizer t(v.metadata());
    // "b c" has rank 0: a|b|c -> a|bc, and "a bc" is no merge.
    EXPECT_EQ(t.encode("abc", false, false), (Ids{'a', v.id_of_word("bc")}));

    TinyVocab w = v;
    w.merges = {{"a", "b"}, {"b", "c"}};
    EXPECT_EQ(Tokenizer(w.metadata()).encode("abc", false, false), (Ids{w.id_of_word("ab"), 'c'}));
}

TEST(Tokenizer, EqualRanksMergeLeftmostFirst) {
    TinyVocab v;
    v.words = {"aa", "aaaa"};
    v.merges = {{"a", "a"}, {"aa", "aa"}};
    const Tokenizer t(v.metadata());
    const int32_t aa = v.id_of_word("aa"), aaaa = v.id_of_word("aaaa");
    EXPECT_EQ(t.encode("aaa", false, false), (Ids{aa, 'a'}));
    // a|a|a|a|a -> aa|a|a|a -> aa|aa|a -> aaaa|a
    EXPECT_EQ(t.encode("aaaaa", false, false), (Ids{aaaa, 'a'}));
    EXPECT_EQ(t.encode("aaaaaaaaaa", false, false), (Ids{aaaa, aaaa, aa}));
}

TEST(Tokenizer, AWordInTheVocabularyIsOneTokenEvenWithoutMerges) {
    // Llama-3 sets ignore_merges: a whole pre-tokenizer word found in the vocabulary is taken as is.
    TinyVocab v;
    v.words = {"abc", " abc"};
    const Tokenizer t(v.metadata());
    EXPECT_EQ(t.encode("abc abc", false, false), (Ids{v.id_of_word("abc"), v.id_of_word(" abc")}));
    EXPECT_EQ(t.encode("abcd", false, false), (Ids{'a', 'b', 'c', 'd'}));
}

TEST(Tokenizer, PreTokenizerSplitsWordsBeforeMerging) {
    TinyVocab v;
    v.words = {"a ", " b"};
    v.merges = {{"a", " "}, {" ", "b"}};
    const Tokenizer t(v.metadata());
    // "a b" splits into "a" and " b": the merge "a " never sees its pair.
    EXPECT_EQ(t.encode("a b", false, false), (Ids{'a', v.id_of_word(" b")}));

    // Digits come in groups of at most three, even when the vocabulary has the whole number.
    TinyVocab d;
    d.words = {"12345", "123", "45"};
    EXPECT_EQ(Tokenizer(d.metadata()).encode("12345", false, false), (Ids{d.id_of_word("123"), d.id_of_word("45")}));
}

TEST(Tokenizer, BosOnRequest) {
    TinyVocab v;
    const Tokenizer t(v.metadata());
    EXPECT_EQ(t.encode("", false, false), Ids{});
    EXPECT_EQ(t.encode("", false, true), Ids{});
    EXPECT_EQ(t.encode("", true, true), Ids{t.bos()});
    EXPECT_EQ(t.encode("hi", true, false), (Ids{t.bos(), 'h', 'i'}));
    EXPECT_TRUE(t.add_bos());  // the default when the key is absent
    Metadata md = v.metadata();
    md.set("tokenizer.ggml.add_bos_token", false);
    EXPECT_FALSE(Tokenizer(md).add_bos());
}

TEST(Tokenizer, SpecialTokensOnlyWhenAskedFor) {
    TinyVocab v;
    v.specials = {"<s>", "</s>", "<|eot_id|>"};
    v.user_defined = {"<think>"};
    const Tokenizer t(v.metadata());
    const int32_t eot = v.id_of_special("<|eot_id|>");
    const int32_t think = 256 + 3;
    EXPECT_EQ(t.encode("x<|eot_id|>y", false, true), (Ids{'x', eot, 'y'}));
    EXPECT_EQ(t.encode("x<|eot_id|>y", false, false), byte_ids("x<|eot_id|>y"));
    EXPECT_EQ(t.encode("<think>", false, true), Ids{think});
    EXPECT_EQ(t.encode("<think>", false, false), byte_ids("<think>"));
    EXPECT_EQ(t.encode("<|eot_id|><|eot_id|>", false, true), (Ids{eot, eot}));
    EXPECT_EQ(t.encode("<|eot_id", false, true), byte_ids("<|eot_id"));
    EXPECT_EQ(t.find_special("<|eot_id|>"), eot);
    EXPECT_EQ(t.find_special("<|nope|>"), std::nullopt);
}

TEST(Tokenizer, LongestSpecialTokenWins) {
    TinyVocab v;
    v.specials = {"<s>", "</s>", "<a>", "<a>b", "b<c>"};
    const Tokenizer t(v.metadata());
    const int32_t a = v.id_of_special("<a>"), ab = v.id_of_special("<a>b");
    EXPECT_EQ(t.encode("<a>bc", false, true), (Ids{ab, 'c'}));
    EXPECT_EQ(t.encode("<a>c", false, true), (Ids{a, 'c'}));
    // Leftmost first: "<a>b" starts before "b<c>".
    EXPECT_EQ(t.encode("<a>b<c>", false, true), (Ids{ab, '<', 'c', '>'}));
}

TEST(Tokenizer, ManySpecialTokens) {
    // More special-token text than one PCRE2 pattern can hold (its compiled size is limited).
    TinyVocab v;
    for (int i = 0; i < 20000; ++i) v.user_defined.push_back("<unused" + std::to_string(i) + ">");
    const Tokenizer t(v.metadata());
    const int32_t first = 256 + 2;  // after <s> and </s>
    Ids want = {'a', first + 19999, 'b', first, first + 123};
    for (int32_t id : byte_ids("<unused20000>")) want.push_back(id);  // no such token: plain text
    EXPECT_EQ(t.encode("a<unused19999>b<unused0><unused123><unused20000>", false, true), want);
}

TEST(SpecialTokens, EarliestThenLongestAcrossPatterns) {
    // A chunk size of one byte puts every token in a pattern of its own.
    const llm::SpecialTokens s({{"<a>", 1}, {"<a>b", 2}, {"b<c>", 3}, {"x", 4}, {"<a>", 5}}, 1);
    EXPECT_EQ(s.patterns(), 4u);
    const auto run = [&](std::string_view text) {
        std::string out;
        s.split(
            text, [&](std::string_view plain) { out += "[" + std::string(plain) + "]"; },
            [&](int32_t id) { out += std::to_string(id); });
        return out;
    };
    EXPECT_EQ(run("<a>bc"), "2[c]");
    EXPECT_EQ(run("<a>c"), "1[c]");
    EXPECT_EQ(run("<a>b<c>"), "2[<c>]");
    EXPECT_EQ(run("zb<c>x<a>"),
              "[z]34"
              "1");
    EXPECT_EQ(run("plain"), "[plain]");
    EXPECT_EQ(run(""), "");
    EXPECT_EQ(s.find("<a>"), 1);  // a repeated text keeps its first id
    const llm::SpecialTokens none({}, 1);
    EXPECT_EQ(none.patterns(), 0u);
}

TEST(Tokenizer, SpecialTokenTextIsLiteral) {
    // Regex syntax in a special token's text means nothing.
    TinyVocab v;
    v.specials = {"<s>", "</s>", "a.b*", "(x|y)", "\\E\\Q", "tab\there"};
    const Tokenizer t(v.metadata());
    EXPECT_EQ(t.encode("a.b*", false, true), Ids{v.id_of_special("a.b*")});
    EXPECT_EQ(t.encode("axbbb", false, true), byte_ids("axbbb"));
    EXPECT_EQ(t.encode("(x|y)x", false, true), (Ids{v.id_of_special("(x|y)"), 'x'}));
    EXPECT_EQ(t.encode("\\E\\Q", false, true), Ids{v.id_of_special("\\E\\Q")});
    EXPECT_EQ(t.encode("tab\there", false, true), Ids{v.id_of_special("tab\there")});
}

TEST(Tokenizer, InvalidUtf8IsTokenizedByteWise) {
    TinyVocab v;
    v.words = {"\xFF\xFE", "ab"};
    v.merges = {{"\xFF", "\xFE"}, {"a", "b"}};
    const Tokenizer t(v.metadata());
    // The invalid run "\xFF\xFE" is a word of its own, merged like any other.
    const std::string text =
        "ab\xFF\xFE"
        "ab \xC3";
    EXPECT_EQ(t.encode(text, false, false),
              (Ids{v.id_of_word("ab"), v.id_of_word("\xFF\xFE"), v.id_of_word("ab"), ' ', 0xC3}));
    EXPECT_EQ(t.decode(t.encode(text, false, false)), text);
    EXPECT_EQ(t.decode(t.encode(text, false, true)), text);
    // A surrogate and an overlong form are invalid UTF-8 too.
    for (const std::string bad : {"\xED\xA0\x80", "\xC0\xAF", "\xF4\x90\x80\x80"}) {
        EXPECT_EQ(t.encode(bad, false, false), byte_ids(bad));
    }
}

TEST(Tokenizer, DecodeAndPieces) {
    TinyVocab v;
    v.words = {" hello"};
    v.specials = {"<s>", "</s>", "<|eot_id|>"};
    const Tokenizer t(v.metadata());
    const int32_t hello = v.id_of_word(" hello"), eot = v.id_of_special("<|eot_id|>");
    EXPECT_EQ(t.piece(hello), " hello");  // bytes, not the spelling "Ġhello"
    EXPECT_EQ(t.piece(0x0A), "\n");
    EXPECT_EQ(t.piece(eot), "<|eot_id|>");
    const Ids ids = {t.bos(), 'x', hello, eot};
    EXPECT_EQ(t.decode(ids), "<s>x hello<|eot_id|>");
    EXPECT_EQ(t.decode(ids, true), "x hello");
    EXPECT_EQ(t.token_type(hello), TokenType::normal);
    EXPECT_EQ(t.token_type(eot), TokenType::control);
    EXPECT_EQ(t.vocab_size(), 256 + 1 + 3);
    EXPECT_EQ(t.type(), "gpt2");
    EXPECT_EQ(t.pre(), "llama-bpe");
    EXPECT_EQ(t.chat_template(), nullptr);
}

TEST(Tokenizer, UnknownIdsAreErrorsNamingTheId) {
    TinyVocab v;
    const Tokenizer t(v.metadata());
    EXPECT_ERROR(t.decode(Ids{1, 258}), "token id 258", "258 tokens");
    EXPECT_ERROR(t.decode(Ids{-1}), "token id -1");
    EXPECT_ERROR(t.piece(1 << 30), "token id 1073741824");
    EXPECT_ERROR(t.token_type(258), "token id 258");
}

TEST(Tokenizer, EndOfGeneration) {
    TinyVocab v;
    v.specials = {"<s>", "</s>", "<|eot_id|>", "<|im_end|>", "<|start_header_id|>"};
    Metadata md = v.metadata();
    const Tokenizer t(md);
    // No eot_token_id key: <|eot_id|> is found by its text.
    EXPECT_EQ(t.eot(), v.id_of_special("<|eot_id|>"));
    EXPECT_TRUE(t.is_end_of_generation(t.eos()));
    EXPECT_TRUE(t.is_end_of_generation(v.id_of_special("<|eot_id|>")));
    EXPECT_TRUE(t.is_end_of_generation(v.id_of_special("<|im_end|>")));
    EXPECT_FALSE(t.is_end_of_generation(t.bos()));
    EXPECT_FALSE(t.is_end_of_generation(v.id_of_special("<|start_header_id|>")));
    EXPECT_FALSE(t.is_end_of_generation('a'));
    EXPECT_FALSE(t.is_end_of_generation(-5));

    md.set("tokenizer.ggml.eot_token_id", uint32_t{'q'});
    md.set("tokenizer.ggml.eom_token_id", uint32_t{'r'});
    const Tokenizer u(md);
    EXPECT_EQ(u.eot(), 'q');
    EXPECT_TRUE(u.is_end_of_generation('q'));
    EXPECT_TRUE(u.is_end_of_generation('r'));

    TinyVocab plain;
    EXPECT_EQ(Tokenizer(plain.metadata()).eot(), std::nullopt);
}

TEST(Tokenizer, MissingKeysAreErrorsNamingTheKey) {
    for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.token_type",
                            "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"}) {
        Metadata md = TinyVocab{}.metadata("model.gguf");
        md.erase(key);
        EXPECT_ERROR(Tokenizer{md}, "model.gguf", key, "missing");
    }
    // Optional keys.
    for (const char* key : {"tokenizer.ggml.pre", "tokenizer.ggml.add_bos_token"}) {
        Metadata md = TinyVocab{}.metadata();
        md.erase(key);
        EXPECT_NO_THROW(Tokenizer{md}) << key;
    }
}

TEST(Tokenizer, OnlyGpt2WithTheLlama3PreTokenizer) {
    Metadata md = TinyVocab{}.metadata();
    md.set("tokenizer.ggml.model", "llama");
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.model", "'llama'", "gpt2");
    md = TinyVocab{}.metadata();
    md.set("tokenizer.ggml.model", uint32_t{2});
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.model", "expected a string");
    md = TinyVocab{}.metadata();
    md.set("tokenizer.ggml.pre", "qwen2");
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.pre", "'qwen2'");
    for (const char* pre : {"llama3", "llama-v3", "llama-bpe"}) {
        md.set("tokenizer.ggml.pre", pre);
        EXPECT_EQ(Tokenizer{md}.pre(), pre);
    }
    md.erase("tokenizer.ggml.pre");
    EXPECT_EQ(Tokenizer{md}.pre(), "llama3");
}

TEST(Tokenizer, BadMergesAreErrorsNamingTheMerge) {
    const auto with_merges = [](std::vector<std::string> merges) {
        TinyVocab v;
        v.words = {"ab"};
        Metadata md = v.metadata("m.gguf");
        md.set("tokenizer.ggml.merges", MetaValue::strings(merges));
        return md;
    };
    EXPECT_ERROR(Tokenizer{with_merges({"a b", "a zz"})}, "m.gguf", "tokenizer.ggml.merges[1] 'a zz'", "'zz'",
                 "not a normal token");
    EXPECT_ERROR(Tokenizer{with_merges({"b a"})}, "tokenizer.ggml.merges[0]", "merged", "'ba'");
    EXPECT_ERROR(Tokenizer{with_merges({"<s> a"})}, "tokenizer.ggml.merges[0]", "'<s>'");  // a control token
    for (const char* bad : {"ab", "a  b", " a b", "a b ", "a b c", ""}) {
        EXPECT_ERROR(Tokenizer{with_merges({bad})}, "tokenizer.ggml.merges[0]", "one space");
    }
    Metadata md = with_merges({});
    md.set("tokenizer.ggml.merges", MetaValue::array_of<int32_t>({1, 2}));
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.merges", "array of strings", "int32");
    EXPECT_NO_THROW(Tokenizer{with_merges({"a b", "a b"})});  // a repeated merge keeps its first rank
}

TEST(Tokenizer, BadVocabulariesAreErrorsNamingTheToken) {
    Metadata md = TinyVocab{}.metadata("v.gguf");
    md.set("tokenizer.ggml.tokens", MetaValue::strings({}));
    md.set("tokenizer.ggml.token_type", MetaValue::array_of<int32_t>({}));
    EXPECT_ERROR(Tokenizer{md}, "v.gguf", "tokenizer.ggml.tokens is empty");

    md = TinyVocab{}.metadata();
    md.set("tokenizer.ggml.tokens", MetaValue::array_of<int32_t>({1, 2, 3}));
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.tokens", "array of strings");

    md = TinyVocab{}.metadata();
    md.set("tokenizer.ggml.token_type", MetaValue::array_of<int32_t>({1, 1}));
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.token_type has 2 entries for 258 tokens");

    md = TinyVocab{}.metadata();
    std::vector<int32_t> types(258, 1);
    types[7] = 9;
    md.set("tokenizer.ggml.token_type", MetaValue::array_of<int32_t>(types));
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.token_type[7]", "0..6");
    md.set("tokenizer.ggml.token_type", MetaValue::strings(std::vector<std::string>(258, "1")));
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.token_type[0]");

    // A normal token must be written in GPT-2's byte spelling: "日" spells no byte.
    TinyVocab v;
    Metadata raw = v.metadata();
    const MetaArray& tokens = raw.get_array("tokenizer.ggml.tokens");
    std::vector<std::string> texts;
    for (const MetaValue& t : tokens.items) texts.push_back(*t.as_string());
    texts[40] = "\xE6\x97\xA5";
    raw.set("tokenizer.ggml.tokens", MetaValue::strings(texts));
    EXPECT_ERROR(Tokenizer{raw}, "tokenizer.ggml.tokens[40]", "byte-level");
    texts[40] = "";
    raw.set("tokenizer.ggml.tokens", MetaValue::strings(texts));
    EXPECT_ERROR(Tokenizer{raw}, "tokenizer.ggml.tokens[40]");
    texts[40] = "a";
    texts[257] = "\xFF";  // a control token that is not UTF-8
    raw.set("tokenizer.ggml.tokens", MetaValue::strings(texts));
    EXPECT_ERROR(Tokenizer{raw}, "tokenizer.ggml.tokens[257]", "UTF-8");
}

TEST(Tokenizer, BadSpecialIdsAreErrorsNamingTheKey) {
    Metadata md = TinyVocab{}.metadata();
    md.set("tokenizer.ggml.bos_token_id", uint32_t{258});
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.bos_token_id is 258", "258 tokens");
    md = TinyVocab{}.metadata();
    md.set("tokenizer.ggml.eos_token_id", int32_t{-1});
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.eos_token_id", "negative");
    md = TinyVocab{}.metadata();
    md.set("tokenizer.ggml.eot_token_id", uint64_t{1} << 40);
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.eot_token_id is 1099511627776");
    md = TinyVocab{}.metadata();
    md.set("tokenizer.ggml.add_bos_token", "yes");
    EXPECT_ERROR(Tokenizer{md}, "tokenizer.ggml.add_bos_token", "expected a bool");
}

TEST(Tokenizer, MissingByteTokenIsAnErrorWhenNeeded) {
    Metadata md = TinyVocab{}.metadata();
    const MetaArray& tokens = md.get_array("tokenizer.ggml.tokens");
    std::vector<std::string> texts;
    for (const MetaValue& t : tokens.items) texts.push_back(*t.as_string());
    std::vector<int32_t> types(texts.size(), 1);
    types[256] = types[257] = 3;
    types[0xFF] = 5;  // byte 0xFF has no normal token any more
    md.set("tokenizer.ggml.token_type", MetaValue::array_of<int32_t>(types));
    const Tokenizer t(md);
    EXPECT_EQ(t.encode("fine", false, false), byte_ids("fine"));
    EXPECT_ERROR(t.encode("a\xFF", false, false), "no token for byte 0xFF");
}

TEST(Tokenizer, LongInputs) {
    TinyVocab v;
    v.words = {"aa", "aaaa"};
    v.merges = {{"a", "a"}, {"aa", "aa"}};
    const Tokenizer t(v.metadata());
    // One word of 200001 letters: BPE is O(n log n), not quadratic.
    const Ids word = t.encode(std::string(200001, 'a'), false, false);
    ASSERT_EQ(word.size(), 50001u);
    EXPECT_EQ(word.back(), 'a');
    // A million spaces and newlines: the regex's backtracking stays linear.
    std::string spaces(1000000, ' ');
    spaces[500000] = '\n';
    EXPECT_EQ(t.decode(t.encode(spaces, false, false)), spaces);
}

TEST(Tokenizer, FromAGgufFile) {
    TempDir dir;
    const auto path = dir / "tok.gguf";
    {
        GgufWriter w(path);
        TinyVocab v;
        v.words = {"ab"};
        v.merges = {{"a", "b"}};
        const Metadata md = v.metadata();
        for (const auto& [key, value] : md.entries()) w.metadata().set(key, value);
        w.metadata().set("tokenizer.chat_template", "{{ messages }}");
        w.finish();
    }
    const GgufFile g = GgufFile::open(path);
    const Tokenizer t(g.metadata());
    EXPECT_EQ(t.encode("abab", false, false), (Ids{256, 256}));
    ASSERT_NE(t.chat_template(), nullptr);
    EXPECT_EQ(*t.chat_template(), "{{ messages }}");

    Metadata md = g.metadata();
    md.erase("tokenizer.ggml.merges");
    const std::string file = path.string();  // EXPECT_ERROR keeps views of its arguments
    EXPECT_ERROR(Tokenizer{md}, file, "tokenizer.ggml.merges");
}

TEST(Tokenizer, MovesAndSharesAcrossThreadsSafely) {
    TinyVocab v;
    v.words = {"ab"};
    v.merges = {{"a", "b"}};
    Tokenizer t(v.metadata());
    Tokenizer moved(std::move(t));
    EXPECT_EQ(moved.encode("ab", false, false), Ids{256});
}

}  // namespace
}  // namespace lowbit::test
