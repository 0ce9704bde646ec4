// The Llama-3 chat format, as text and as token ids, and template recognition.
#include "lowbit/chat.hpp"

#include <string_view>

#include "lowbit/error.hpp"

namespace lowbit {
namespace {

constexpr std::string_view kBegin = "<|begin_of_text|>";
constexpr std::string_view kStartHeader = "<|start_header_id|>";
constexpr std::string_view kEndHeader = "<|end_header_id|>";
constexpr std::string_view kEot = "<|eot_id|>";

// Jinja's `trim` strips whitespace at both ends; the ASCII whitespace here is what chat text
// carries in practice (llama.cpp trims the same set).
std::string_view trim(std::string_view s) {
    constexpr std::string_view kSpace = " \t\n\r\v\f";
    const std::size_t begin = s.find_first_not_of(kSpace);
    if (begin == std::string_view::npos) return {};
    return s.substr(begin, s.find_last_not_of(kSpace) - begin + 1);
}

int32_t marker(const Tokenizer& tokenizer, std::string_view text) {
    if (const auto id = tokenizer.find_special(text)) return *id;
    fail("chat: the vocabulary has no special token ", text, ", which the Llama-3 chat format needs");
}

}  // namespace

std::string format_llama3_chat(std::span<const ChatMessage> messages, bool add_generation_prompt) {
    std::string out(kBegin);
    for (const ChatMessage& m : messages) {
        out += kStartHeader;
        out += m.role;
        out += kEndHeader;
        out += "\n\n";
        out += trim(m.content);
        out += kEot;
    }
    if (add_generation_prompt) {
        out += kStartHeader;
        out += "assistant";
        out += kEndHeader;
        out += "\n\n";
    }
    return out;
}

std::vector<int32_t> encode_llama3_chat(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                        bool add_generation_prompt) {
    const int32_t begin = marker(tokenizer, kBegin);
    const int32_t start_header = marker(tokenizer, kStartHeader);
    const int32_t end_header = marker(tokenizer, kEndHeader);
    const int32_t eot = marker(tokenizer, kEot);
    std::vector<int32_t> ids{begin};
    const auto append = [&](std::string_view text) {
        const std::vector<int32_t> part = tokenizer.encode(text, false, false);
        ids.insert(ids.end(), part.begin(), part.end());
    };
    const auto header = [&](std::string_view role) {
        ids.push_back(start_header);
        append(role);
        ids.push_back(end_header);
    };
    for (const ChatMessage& m : messages) {
        header(m.role);
        // "\n\n" and the content are one stretch of text between special tokens, as when the
        // formatted string is encoded whole: the pre-tokenizer may join them.
        append("\n\n" + std::string(trim(m.content)));
        ids.push_back(eot);
    }
    if (add_generation_prompt) {
        header("assistant");
        append("\n\n");
    }
    return ids;
}

ChatFormatChoice choose_chat_format(const std::string* chat_template) {
    if (chat_template == nullptr) return {};
    // Recognized by its header tokens, as llama.cpp does: Llama-3, 3.1 and 3.2 templates
    // differ in extras (dates, tools) but write every message in this format.
    if (chat_template->find(kStartHeader) != std::string::npos &&
        chat_template->find(kEndHeader) != std::string::npos) {
        return {};
    }
    return {ChatFormat::llama3,
            "the model's chat template is not the Llama-3 template; using lowbit's built-in Llama-3 chat "
            "format, which this model may not have been trained on"};
}

}  // namespace lowbit
