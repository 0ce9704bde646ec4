// NumPy arrays in and out without copies. In: the buffer of an array (or of any object NumPy
// can view without copying) is read in place while the call runs with the GIL released; only
// with copy=True is anything converted (another dtype, a non-contiguous layout). Out: arrays
// over memory that C++ owns, kept alive by the Python object that owns it (a QuantizedTensor)
// or by a capsule holding the vector.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <span>
#include <vector>

#include "lowbit/weight_type.hpp"

namespace lowbit::python {

struct ArrayInput {
    pybind11::array array;  // holds the buffer for as long as the input is in use
    TypeId type = TypeId::F32;  // F32, F16, or BF16 (a uint16 view)
    std::vector<int64_t> shape;
    int64_t rows = 0;  // 1 for a vector
    int64_t cols = 0;
    const uint8_t* data() const { return static_cast<const uint8_t*>(array.data()); }
    std::size_t nbytes() const { return static_cast<std::size_t>(array.nbytes()); }
    std::span<const uint8_t> bytes() const { return {data(), nbytes()}; }
    const float* floats() const { return static_cast<const float*>(array.data()); }
    int64_t size() const { return rows * cols; }
};

// Weights: float32, float16 or uint16 (bfloat16 bits), rank 1 or 2, C-contiguous. Any other
// dtype or layout is a TypeError / ValueError naming `arg`, its dtype, shape and strides,
// unless copy=True (then converted to float32 once).
ArrayInput weights_argument(const pybind11::handle& obj, const char* arg, bool copy);
// Activations and metric inputs: float32 only, rank in [min_rank, max_rank] (0: any).
ArrayInput float32_argument(const pybind11::handle& obj, const char* arg, bool copy, int min_rank, int max_rank);

// A NumPy array that owns `values` (moved into a capsule).
template <typename T>
pybind11::array_t<T> owning_array(std::vector<T>&& values, std::vector<pybind11::ssize_t> shape) {
    auto* held = new std::vector<T>(std::move(values));
    pybind11::capsule owner(held, [](void* p) { delete static_cast<std::vector<T>*>(p); });
    return pybind11::array_t<T>(std::move(shape), held->data(), owner);
}

// A read-only view of memory owned by `owner` (which the view keeps alive).
pybind11::array readonly_view(const pybind11::dtype& dtype, std::vector<pybind11::ssize_t> shape,
                              std::vector<pybind11::ssize_t> strides, const void* data, const pybind11::handle& owner);

}  // namespace lowbit::python
