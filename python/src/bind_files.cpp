// lowbit.read_tensors and lowbit.write_safetensors: model and statistics files for the
// PyTorch side of the package (lowbit.torch, lowbit.calibrate), through the C++ readers and the
// SafeTensors writer (complete or not at all).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>

#include "arrays.hpp"
#include "bindings.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/safetensors_writer.hpp"

namespace py = pybind11;
using namespace py::literals;

namespace lowbit::python {
namespace {

py::tuple read_tensors(const py::object& path) {
    const std::string p = fspath(path);
    quantize::FloatTensors read;
    {
        py::gil_scoped_release unlocked;
        read = quantize::read_float_tensors(p);
    }
    py::dict tensors, types, metadata;
    for (quantize::FloatTensor& t : read.tensors) {
        types[py::str(t.name)] = t.type;
        std::vector<py::ssize_t> shape(t.shape.begin(), t.shape.end());
        tensors[py::str(t.name)] = owning_array(std::move(t.values), std::move(shape));
    }
    for (const auto& [key, value] : read.metadata) metadata[py::str(key)] = value;
    return py::make_tuple(tensors, types, metadata);
}

struct Entry {
    std::string name;
    SafeDtype dtype;
    std::vector<int64_t> shape;
    py::array array;
};

void write_safetensors(const py::object& path, const py::dict& tensors, const py::dict& metadata) {
    const std::string p = fspath(path);
    std::vector<Entry> entries;
    for (const auto& [key, value] : tensors) {
        Entry e{key.cast<std::string>(), SafeDtype::F32, {}, {}};
        const py::array a = py::reinterpret_borrow<py::object>(value);
        if (!py::isinstance<py::array>(value)) throw py::type_error(e.name + ": expected a NumPy array");
        if (a.dtype().is(py::dtype::of<float>())) {
            e.dtype = SafeDtype::F32;
        } else if (a.dtype().is(py::dtype::of<int32_t>())) {
            e.dtype = SafeDtype::I32;
        } else {
            throw py::type_error(e.name + ": dtype " + std::string(py::str(a.dtype())) + " (float32 or int32 only)");
        }
        if (!(a.flags() & py::array::c_style)) throw py::value_error(e.name + ": not C-contiguous");
        for (py::ssize_t d = 0; d < a.ndim(); ++d) e.shape.push_back(a.shape(d));
        e.array = a;
        entries.push_back(std::move(e));
    }
    std::vector<std::pair<std::string, std::string>> strings;
    for (const auto& [key, value] : metadata) strings.emplace_back(key.cast<std::string>(), value.cast<std::string>());
    py::gil_scoped_release unlocked;
    SafeTensorsWriter w(p);
    for (auto& [key, value] : strings) w.set_metadata(key, value);
    for (Entry& e : entries) w.add_tensor(e.name, e.dtype, e.shape);
    for (Entry& e : entries) {
        w.write_tensor(e.name, {static_cast<const uint8_t*>(e.array.data()), static_cast<std::size_t>(e.array.nbytes())});
    }
    w.finish();
}

}  // namespace

void bind_files(py::module_& m) {
    m.def("read_tensors", &read_tensors, "path"_a,
          R"doc(read_tensors(path) -> (tensors, types, metadata)

Every tensor of a GGUF or SafeTensors file as a float32 NumPy array (shape outermost first, as
PyTorch), decoded by lowbit: a quantized tensor's values as the engine sees them; a lowbit
SafeTensors output's packed parts reassembled into their tensor. ``types`` maps each name to
the type it is stored as; ``metadata`` holds the file's string metadata (for a file written
with calibration, ``metadata["lowbit.calibration"]``).)doc");
    m.def("write_safetensors", &write_safetensors, "path"_a, "tensors"_a, "metadata"_a = py::dict(),
          R"doc(write_safetensors(path, tensors, metadata={})

Writes a SafeTensors file from a dict of C-contiguous float32 or int32 NumPy arrays and a dict
of metadata strings, to a temporary name renamed into place when complete.)doc");
}

}  // namespace lowbit::python
