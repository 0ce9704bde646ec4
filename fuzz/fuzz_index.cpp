// libFuzzer target: the sharded-model index parser (model.safetensors.index.json).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lowbit/error.hpp"
#include "lowbit/safetensors_index.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const lowbit::SafeTensorsIndex index =
            lowbit::parse_safetensors_index(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
        for (const auto& [tensor, shard] : index.weight_map) {
            if (!lowbit::is_plain_file_name(shard)) __builtin_trap();  // the parser must never let one through
        }
    } catch (const lowbit::Error&) {
    }
    return 0;
}
