// Each group of the Python API adds its functions and classes to the module here.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>

namespace lowbit {
class ThreadPool;
}

namespace lowbit::python {

void bind_kernels(pybind11::module_& m);   // formats, isa, quantize, dequantize, gemv, matmul, metrics
void bind_quantize(pybind11::module_& m);  // quantize_model, inspect
void bind_model(pybind11::module_& m);     // Model
void bind_files(pybind11::module_& m);     // read_tensors, write_safetensors

// The pool the array functions run on (lowbit.set_threads): held by each call, so that
// replacing it never pulls it from under a running call.
std::shared_ptr<ThreadPool> shared_pool();

// os.fspath(path): a str or a path-like object as a path string (TypeError otherwise).
inline std::string fspath(const pybind11::object& path) {
    return pybind11::module_::import("os").attr("fspath")(path).cast<std::string>();
}

// threads=None -> every CPU this process may use; otherwise 1..1024 (ValueError naming `arg`).
int thread_count_argument(const pybind11::object& threads, const char* arg = "threads");

}  // namespace lowbit::python
