// libFuzzer target: the GGUF reader (metadata, tensor infos, placement) and tensor views.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_util.hpp"
#include "lowbit/gguf_reader.hpp"

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
