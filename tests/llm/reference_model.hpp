// An independent float implementation of the BitNet b1.58 forward pass for tests: plain loops
// over the weights the test generated (not read back through lowbit), activations
// fake-quantized to int8 per token with bitnet.cpp's rule, K/V rounded to f16 like the cache.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lowbit/model_writer.hpp"

namespace lowbit::test {

struct ReferenceModel {
    llm::ModelShape shape;
    std::map<std::string, std::vector<float>> tensors;  // by GGUF name, row-major
    bool relu_squared = true;
    bool sub_norms = true;
    bool rope_neox = true;  // llama: NORM (pairs 2i, 2i+1)

    // Logits of every position for the token sequence (a fresh context).
    std::vector<std::vector<double>> forward(const std::vector<int32_t>& tokens) const;
};

// Ternary weights {-1, 0, 1} x 2^-4 (exact in every ternary format), norms near 1, an f16-exact
// embedding: values for write_model, kept for the reference.
ReferenceModel make_reference_model(const llm::ModelShape& shape, uint32_t seed);

}  // namespace lowbit::test
