// libFuzzer target: the GGUF reader (metadata, tensor infos, placement) and tensor views,
// and the tokenizer built from a file's hostile `tokenizer.*` metadata.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_util.hpp"
#include "lowbit/gguf_reader.hpp"
#include "lowbit/tokenizer.hpp"

namespace {

// Whatever vocabulary the file holds, text that encodes must decode to itself.
void check_tokenizer(const lowbit::Metadata& m, const uint8_t* data, size_t size) {
    try {
        const lowbit::Tokenizer t(m);
        std::string text = "Hello <|eot_id|> world's 123\n\xF0\x9F\x98\x80 ";
        text.append(reinterpret_cast<const char*>(data), size < 64 ? size : 64);  // some arbitrary bytes too
        for (const bool special : {false, true}) {
            if (t.decode(t.encode(text, false, special)) != text) __builtin_trap();
        }
    } catch (const lowbit::Error&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lowbit;
    try {
        const GgufFile g =
            GgufFile::parse(MappedFile::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz.gguf"));
        const Metadata& m = g.metadata();
        for (const auto& [key, value] : m.entries()) {
            (void)value.to_uint();
            (void)value.to_int();
            (void)value.to_float();
            try {
                (void)m.get_string(key);
            } catch (const Error&) {
            }
        }
        (void)g.architecture();
        if (m.contains("tokenizer.ggml.model")) check_tokenizer(m, data, size);
        for (const GgufTensor& t : g.tensors()) {
            if (t.type->computable()) {
                const TensorWeight w = g.weight(t);
                fuzz::touch(g.tensor_data(t), &w);
            } else {
                fuzz::touch(g.tensor_data(t), nullptr);
            }
        }
    } catch (const Error&) {
        // Refusing bad input with a lowbit::Error is the expected outcome.
    }
    return 0;
}
