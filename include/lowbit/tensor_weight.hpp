// A tensor from a model file as something lowbit computes with: its registry row and a view
// of its bytes (which stay in the file's mapping).
#pragma once

#include "lowbit/weight_type.hpp"

namespace lowbit {

struct TensorWeight {
    const WeightType* type = nullptr;
    WeightView view;
};

}  // namespace lowbit
