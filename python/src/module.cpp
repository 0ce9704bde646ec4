// The native half of the `lowbit` Python package (_lowbit): the kernels on NumPy arrays, the
// model quantizer and the inference engine, each call running with the GIL released.
#include <pybind11/pybind11.h>

#include "bindings.hpp"
#include "errors.hpp"
#include "interrupt.hpp"
#include "lowbit/version.hpp"

namespace py = pybind11;

PYBIND11_MODULE(_lowbit, m) {
    m.doc() = "lowbit's C++ library: low-bit weight formats, the model quantizer and the inference engine.";
    m.attr("__version__") = std::string(lowbit::version());
    lowbit::python::remember_main_thread();
    lowbit::python::register_errors(m);
    lowbit::python::bind_kernels(m);
    lowbit::python::bind_quantize(m);
    lowbit::python::bind_model(m);
    lowbit::python::bind_files(m);
}
