// The Llama-3 chat format: the exact text, its token ids (markers as special tokens, message
// text never parsed for special tokens), and which templates are recognized.
#include "lowbit/chat.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/io_test_util.hpp"
#include "llm/llm_test_util.hpp"
#include "lowbit/byte_level_tokenizer.hpp"
#include "lowbit/tokenizer.hpp"

namespace lowbit::test {
namespace {

const std::vector<ChatMessage> kConversation = {
    {"system", "You are a helpful assistant."},
    {"user", "  What is 2+2?\n"},
    {"assistant", "4"},
    {"user", "And <|eot_id|> in text?"},
};

TEST(Chat, Llama3Text) {
    // Written out by hand from the Llama-3 Instruct template.
    EXPECT_EQ(format_llama3_chat(kConversation, true),
              "<|begin_of_text|>"
              "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n4<|eot_id|>"
              "<|start_header_id|>user<|end_header_id|>\n\nAnd <|eot_id|> in text?<|eot_id|>"
              "<|start_header_id|>assistant<|end_header_id|>\n\n");
    const std::vector<ChatMessage> one = {{"user", "hi"}};
    EXPECT_EQ(format_llama3_chat(one, false),
              "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>");
    EXPECT_EQ(format_llama3_chat({}, false), "<|begin_of_text|>");
    const std::vector<ChatMessage> blank = {{"user", " \t\n "}};
    EXPECT_EQ(format_llama3_chat(blank, false),
              "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|eot_id|>");
}

TEST(Chat, Llama3TokensKeepMessageTextPlain) {
    Metadata md;
    write_byte_level_tokenizer(md, 128256);
    const Tokenizer t(md);
    const std::vector<ChatMessage> safe(kConversation.begin(), kConversation.begin() + 3);
    EXPECT_EQ(encode_llama3_chat(t, safe, true), t.encode(format_llama3_chat(safe, true), false, true));

    // The last message writes "<|eot_id|>" as text: it stays text, and its turn ends once.
    const std::vector<int32_t> ids = encode_llama3_chat(t, kConversation, true);
    std::size_t eots = 0;
    for (int32_t id : ids) eots += id == 128009;
    EXPECT_EQ(eots, 4u);
    EXPECT_EQ(t.decode(ids), format_llama3_chat(kConversation, true));
    EXPECT_EQ(ids.front(), 128000);
    EXPECT_EQ(ids[1], 128006);
}

TEST(Chat, MarkersMustBeInTheVocabulary) {
    TinyVocab v;
    v.specials = {"<|begin_of_text|>", "</s>", "<|eot_id|>"};
    const Tokenizer t(v.metadata());
    EXPECT_ERROR(encode_llama3_chat(t, kConversation, true), "<|start_header_id|>");
}

TEST(Chat, TemplateRecognition) {
    EXPECT_EQ(choose_chat_format(nullptr).warning, "");
    const std::string llama3 =
        "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
        "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
        "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
        "{% endif %}";
    const ChatFormatChoice known = choose_chat_format(&llama3);
    EXPECT_EQ(known.format, ChatFormat::llama3);
    EXPECT_EQ(known.warning, "");
    const std::string chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>{% endfor %}";
    const ChatFormatChoice unknown = choose_chat_format(&chatml);
    EXPECT_EQ(unknown.format, ChatFormat::llama3);
    EXPECT_NE(unknown.warning.find("not the Llama-3 template"), std::string::npos) << unknown.warning;
}

}  // namespace
}  // namespace lowbit::test
