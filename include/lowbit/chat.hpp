// Chat prompts. lowbit does not interpret Jinja: it recognizes the chat format a model's
// `tokenizer.chat_template` asks for and writes that format itself. Built in: the Llama-3
// format. Details and the decision for unknown templates: docs/TOKENIZER.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lowbit/tokenizer.hpp"

namespace lowbit {

struct ChatMessage {
    std::string role;  // "system", "user", "assistant", ...
    std::string content;
};

// The Llama-3 chat format, as the Llama-3 Instruct template writes it:
//   <|begin_of_text|>  then per message
//   <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|>
// with CONTENT trimmed of leading and trailing whitespace (the template's `| trim`), and with
// `add_generation_prompt` the assistant header that asks the model to answer:
//   <|start_header_id|>assistant<|end_header_id|>\n\n
// The text starts with <|begin_of_text|>: encode it with add_bos = false, parse_special = true.
std::string format_llama3_chat(std::span<const ChatMessage> messages, bool add_generation_prompt);

// The same prompt as token ids, built part by part: the format's markers are their special
// tokens, while roles and contents are encoded as plain text (parse_special = false), so a
// message that contains "<|eot_id|>" cannot end its turn early. Throws when the vocabulary
// lacks one of the markers. For messages without special-token text this equals
// encode(format_llama3_chat(...), false, true).
std::vector<int32_t> encode_llama3_chat(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                        bool add_generation_prompt);

enum class ChatFormat { llama3 };

struct ChatFormatChoice {
    ChatFormat format = ChatFormat::llama3;
    std::string warning;  // empty when the template was recognized (or absent)
};

// Which format to write for a model's `tokenizer.chat_template` (nullptr when it has none).
// A template that uses Llama-3's header tokens is Llama-3; no template means the built-in
// Llama-3 format. Any other template also gets the Llama-3 format, with a warning for the
// caller to print: the model may have been trained on another format.
ChatFormatChoice choose_chat_format(const std::string* chat_template);

}  // namespace lowbit
