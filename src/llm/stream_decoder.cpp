// StreamDecoder: the held-back tail of the byte stream is all the state there is.
#include "lowbit/stream_decoder.hpp"

#include "utf8_repair.hpp"

namespace lowbit {

std::string repair_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    llm::repair_utf8_into(bytes, out, true);
    return out;
}

std::string StreamDecoder::push(int32_t id) {
    const std::string& piece = tokenizer_->piece(id);
    if (skip_control_ && tokenizer_->token_type(id) == TokenType::control) return {};
    pending_ += piece;
    std::string out;
    pending_.erase(0, llm::repair_utf8_into(pending_, out, false));
    return out;
}

std::string StreamDecoder::flush() {
    std::string out;
    llm::repair_utf8_into(pending_, out, true);
    pending_.clear();
    return out;
}

}  // namespace lowbit
