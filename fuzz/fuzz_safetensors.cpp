// libFuzzer target: the SafeTensors reader (header length, strict JSON header, tiling) and
// tensor views.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_util.hpp"
#include "lowbit/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace lowbit;
    try {
        const SafeTensorsFile f =
            SafeTensorsFile::parse(MappedFile::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz.safetensors"));
        for (const SafeTensor& t : f.tensors()) {
            if (safe_dtype_weight_type(t.dtype) != nullptr) {
                const TensorWeight w = f.weight(t);
                fuzz::touch(f.tensor_data(t), &w);
            } else {
                fuzz::touch(f.tensor_data(t), nullptr);
            }
        }
    } catch (const Error&) {
    }
    return 0;
}
