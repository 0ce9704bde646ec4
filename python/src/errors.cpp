#include "errors.hpp"

#include "lowbit/error.hpp"

namespace py = pybind11;

namespace lowbit::python {
namespace {

struct Classes {
    py::object error, argument, format, model_file, unsupported, file_system, out_of_memory, context_full, cancelled,
        busy;
};
Classes* classes = nullptr;  // created once at import, alive for the interpreter's life

py::object make_class(py::module_& m, const char* name, const char* doc, py::tuple bases) {
    const std::string qualified = std::string("lowbit.") + name;
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases.ptr(), nullptr);
    if (cls == nullptr) throw py::error_already_set();
    py::object obj = py::reinterpret_steal<py::object>(cls);
    m.attr(name) = obj;
    return obj;
}

const py::object& class_for(ErrorCode code) {
    switch (code) {
        case ErrorCode::bad_argument: return classes->argument;
        case ErrorCode::bad_file: return classes->model_file;
        case ErrorCode::io: return classes->file_system;
        case ErrorCode::unsupported: return classes->unsupported;
        case ErrorCode::out_of_memory: return classes->out_of_memory;
        case ErrorCode::context_full: return classes->context_full;
        case ErrorCode::cancelled: return classes->cancelled;
        case ErrorCode::busy: return classes->busy;
    }
    return classes->error;
}

void raise(const py::object& cls, const std::string& message, std::string_view code, const std::string& field) {
    py::object e = cls(message);
    e.attr("code") = py::str(std::string(code));
    e.attr("field") = field.empty() ? py::object(py::none()) : py::object(py::str(field));
    PyErr_SetObject(cls.ptr(), e.ptr());
}

}  // namespace

void register_errors(py::module_& m) {
    classes = new Classes;
    const py::object exception = py::reinterpret_borrow<py::object>(PyExc_Exception);
    Classes& c = *classes;
    c.error = make_class(m, "Error", "Any error lowbit raises; .code names its kind, .field the argument at fault.",
                         py::make_tuple(exception));
    c.argument = make_class(m, "ArgumentError", "A value out of range or inconsistent (also a ValueError).",
                            py::make_tuple(c.error, py::reinterpret_borrow<py::object>(PyExc_ValueError)));
    c.format = make_class(m, "FormatError", "What a weight format cannot take: a shape, a NaN, a scale overflow.",
                          py::make_tuple(c.argument));
    c.model_file = make_class(m, "ModelFileError", "A model file that is malformed, truncated or hostile.",
                              py::make_tuple(c.error));
    c.unsupported = make_class(m, "UnsupportedError", "Well-formed, but not something lowbit runs.",
                               py::make_tuple(c.error));
    c.file_system = make_class(m, "FileSystemError", "The operating system refused (open, read, write, a full disk).",
                               py::make_tuple(c.error, py::reinterpret_borrow<py::object>(PyExc_OSError)));
    c.out_of_memory = make_class(m, "OutOfMemoryError", "An allocation failed.",
                                 py::make_tuple(c.error, py::reinterpret_borrow<py::object>(PyExc_MemoryError)));
    c.context_full = make_class(m, "ContextFullError", "A sequence has no room left in its context.",
                                py::make_tuple(c.error));
    c.cancelled = make_class(m, "CancelledError", "The work was cancelled.", py::make_tuple(c.error));
    c.busy = make_class(m, "BusyError", "A shared resource is in use in a way that would deadlock.",
                        py::make_tuple(c.error));

    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Error& e) {
            // the field is the keyword argument's name: say which one, as the CLI names its flag
            const std::string message = e.field().empty() ? e.what() : e.field() + ": " + e.what();
            raise(class_for(e.code()), message, error_code_name(e.code()), e.field());
        } catch (const FormatFailure& e) {
            raise(classes->format, e.what(), error_code_name(ErrorCode::bad_argument), {});
        }
    });
}

}  // namespace lowbit::python
