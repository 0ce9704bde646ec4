#include "arrays.hpp"

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>

namespace py = pybind11;

namespace lowbit::python {
namespace {

std::string dtype_name(const py::dtype& d) { return d.attr("name").cast<std::string>(); }

std::string tuple_text(const py::ssize_t* values, py::ssize_t n) {
    std::ostringstream out;
    out << '(';
    for (py::ssize_t i = 0; i < n; ++i) out << (i ? ", " : "") << values[i];
    out << (n == 1 ? ",)" : ")");
    return out.str();
}

std::string describe(const py::array& a) {
    return "shape " + tuple_text(a.shape(), a.ndim()) + ", strides " + tuple_text(a.strides(), a.ndim()) +
           " (bytes), dtype " + dtype_name(a.dtype());
}

// The object as an ndarray without copying (np.asarray on a buffer is a view).
py::array as_array(const py::handle& obj, const char* arg) {
    if (py::isinstance<py::array>(obj)) return py::reinterpret_borrow<py::array>(obj);
    const std::string type_name = py::type::of(obj).attr("__name__").cast<std::string>();
    py::array a;
    try {
        a = py::module_::import("numpy").attr("asarray")(obj);
    } catch (py::error_already_set&) {
        a = py::array();
    }
    const char kind = a ? a.dtype().kind() : 'O';
    if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b') {
        throw py::type_error(std::string(arg) + ": expected a NumPy array of numbers or an object with the buffer "
                             "protocol, got " + type_name);
    }
    return a;
}

std::optional<TypeId> weight_dtype(const py::dtype& d) {
    if (d.kind() == 'f' && d.itemsize() == 4) return TypeId::F32;
    if (d.kind() == 'f' && d.itemsize() == 2) return TypeId::F16;
    if (d.kind() == 'u' && d.itemsize() == 2) return TypeId::BF16;  // bfloat16 bits, as torch's .view(int16)
    return std::nullopt;
}

void check_rank(const py::array& a, const char* arg, int min_rank, int max_rank) {
    const int rank = static_cast<int>(a.ndim());
    if ((min_rank > 0 && rank < min_rank) || (max_rank > 0 && rank > max_rank)) {
        const std::string wanted = min_rank == max_rank ? std::to_string(min_rank) + "-D"
                                                        : std::to_string(min_rank) + "-D or " + std::to_string(max_rank) + "-D";
        throw py::value_error(std::string(arg) + ": expected a " + wanted + " array, got " + describe(a));
    }
}

py::array contiguous(py::array a, const char* arg, bool copy, const py::object& dtype) {
    const bool c_contiguous = (a.flags() & py::array::c_style) != 0;
    if (!c_contiguous) {
        if (!copy) {
            throw py::value_error(std::string(arg) + ": the array is not C-contiguous (" + describe(a) +
                                  "); pass copy=True to copy it, or np.ascontiguousarray() it");
        }
        a = py::module_::import("numpy").attr("ascontiguousarray")(a, dtype);
    }
    return a;
}

ArrayInput finish(py::array a, TypeId type) {
    ArrayInput in;
    in.type = type;
    for (py::ssize_t i = 0; i < a.ndim(); ++i) in.shape.push_back(a.shape(i));
    in.cols = a.ndim() == 0 ? 1 : a.shape(a.ndim() - 1);
    in.rows = a.ndim() == 0 ? 1 : a.size() / std::max<py::ssize_t>(in.cols, 1);
    if (in.cols == 0) in.rows = a.ndim() >= 2 ? a.shape(0) : 0;
    in.array = std::move(a);
    return in;
}

}  // namespace

ArrayInput weights_argument(const py::handle& obj, const char* arg, bool copy) {
    py::array a = as_array(obj, arg);
    check_rank(a, arg, 1, 2);
    std::optional<TypeId> type = weight_dtype(a.dtype());
    if (!type) {
        if (!copy) {
            throw py::type_error(std::string(arg) + ": dtype " + dtype_name(a.dtype()) +
                                 " is not float32, float16 or uint16 (bfloat16 bits); pass copy=True to convert it "
                                 "to float32 once");
        }
        a = py::module_::import("numpy").attr("ascontiguousarray")(a, py::module_::import("numpy").attr("float32"));
        type = TypeId::F32;
    }
    a = contiguous(std::move(a), arg, copy, a.dtype());
    return finish(std::move(a), *type);
}

ArrayInput float32_argument(const py::handle& obj, const char* arg, bool copy, int min_rank, int max_rank) {
    py::array a = as_array(obj, arg);
    check_rank(a, arg, min_rank, max_rank);
    const py::dtype d = a.dtype();
    const bool is_float32 = d.kind() == 'f' && d.itemsize() == 4;
    if (is_float32 && (a.flags() & py::array::c_style) != 0) return finish(std::move(a), TypeId::F32);  // the usual case
    const py::object float32 = py::module_::import("numpy").attr("float32");
    if (!is_float32) {
        if (!copy) {
            throw py::type_error(std::string(arg) + ": dtype " + dtype_name(d) +
                                 " is not float32; pass copy=True to convert it once");
        }
        a = py::module_::import("numpy").attr("ascontiguousarray")(a, float32);
    }
    a = contiguous(std::move(a), arg, copy, float32);
    return finish(std::move(a), TypeId::F32);
}

py::array readonly_view(const py::dtype& dtype, std::vector<py::ssize_t> shape, std::vector<py::ssize_t> strides,
                        const void* data, const py::handle& owner) {
    py::array view(dtype, std::move(shape), std::move(strides), data, owner);
    view.attr("setflags")(py::arg("write") = false);
    return view;
}

}  // namespace lowbit::python
