// libFuzzer target: the Hugging Face config.json parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lowbit/error.hpp"
#include "lowbit/hf_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        const lowbit::HfConfig c =
            lowbit::parse_hf_config(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
        // What the parser promises: positive counts within range, heads that divide.
        if (c.hidden_size < 1 || c.num_attention_heads < 1 || c.num_key_value_heads < 1 ||
            c.num_attention_heads % c.num_key_value_heads != 0 || c.head_dim < 1) {
            __builtin_trap();
        }
    } catch (const lowbit::Error&) {
    }
    return 0;
}
