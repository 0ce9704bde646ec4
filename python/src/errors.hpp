// lowbit::Error as Python exceptions: lowbit.Error (with .code and .field) and one subclass per
// ErrorCode, the argument kinds also ValueError / OSError / MemoryError so that ordinary
// `except ValueError` code catches them. FormatError marks what a weight format cannot take.
#pragma once

#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

namespace lowbit::python {

// Thrown by the array bindings for a lowbit::Error raised by a format's kernels.
struct FormatFailure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Creates the classes in `m` and registers the translator.
void register_errors(pybind11::module_& m);

}  // namespace lowbit::python
