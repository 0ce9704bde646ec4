// lowbit.quantize_model (the CLI's `lowbit quantize`, option for option) and lowbit.inspect.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include "bindings.hpp"
#include "inspect_print.hpp"
#include "inspect_report.hpp"
#include "interrupt.hpp"
#include "lowbit/error.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/quantize_request.hpp"
#include "lowbit/thread_pool.hpp"

namespace py = pybind11;
using namespace py::literals;

namespace lowbit::python {
namespace {

py::object json_loads(const std::string& text) { return py::module_::import("json").attr("loads")(text); }

std::vector<std::string> string_list(const py::object& value, const char* arg) {
    if (value.is_none()) return {};
    if (py::isinstance<py::str>(value)) return {value.cast<std::string>()};
    try {
        return value.cast<std::vector<std::string>>();
    } catch (const py::cast_error&) {
        throw py::type_error(std::string(arg) + ": expected a string or a list of strings");
    }
}

py::dict quantize_model(const py::object& src, const py::object& dst, const py::kwargs& kwargs) {
    quantize::Request request;
    request.input = fspath(src);
    request.output = dst.is_none() ? std::string() : fspath(dst);
    py::object progress = py::none();
    std::string report_path;
    py::object threads = py::none();
    for (const auto& [key_obj, value] : kwargs) {
        const std::string key = key_obj.cast<std::string>();
        const py::object v = py::reinterpret_borrow<py::object>(value);
        if (key == "out_format") request.out_format = v.is_none() ? "" : v.cast<std::string>();
        else if (key == "type") request.type = v.is_none() ? "" : v.cast<std::string>();
        else if (key == "bits") request.bits = v.is_none() ? "" : std::string(py::str(v));
        else if (key == "group_size") request.group = v.is_none() ? 0 : v.cast<int>();
        else if (key == "asym") request.asym = v.cast<bool>();
        else if (key == "symmetric") request.asym = v.is_none() ? false : !v.cast<bool>();
        else if (key == "profile") request.profile = v.cast<std::string>();
        else if (key == "keep") request.keep = string_list(v, "keep");
        else if (key == "tensor_types") request.tensor_types = string_list(v, "tensor_types");
        else if (key == "min_cosine") request.min_cosine = v.is_none() ? std::nullopt : std::optional<double>(v.cast<double>());
        else if (key == "nan") request.nan = v.cast<std::string>();
        else if (key == "strict") request.strict = v.cast<bool>();
        else if (key == "dry_run") request.dry_run = v.cast<bool>();
        else if (key == "max_memory") request.max_memory = v.is_none() ? "" : std::string(py::str(v));
        else if (key == "mode") request.mode = v.cast<std::string>();
        else if (key == "shards") request.shards = v.cast<int>();
        else if (key == "ternarize") request.ternarize = v.cast<std::string>();
        else if (key == "calib") request.calib = v.is_none() ? "" : fspath(v);
        else if (key == "act_bits") request.act_bits = v.is_none() ? std::nullopt : std::optional<int>(v.cast<int>());
        else if (key == "time_groups") request.time_groups = v.is_none() ? std::nullopt : std::optional<int>(v.cast<int>());
        else if (key == "time_split") request.time_split = v.is_none() ? "" : v.cast<std::string>();
        else if (key == "smooth_alpha") request.smooth_alpha = v.is_none() ? "" : std::string(py::str(v));
        else if (key == "awq") request.awq = v.cast<bool>();
        else if (key == "threads") threads = v;
        else if (key == "report") report_path = v.is_none() ? "" : fspath(v);
        else if (key == "progress") progress = v;
        else throw py::type_error("quantize_model() got an unexpected keyword argument '" + key + "'");
    }
    if (!progress.is_none() && !PyCallable_Check(progress.ptr())) {
        throw py::type_error("progress: expected a callable(message, fraction)");
    }
    if (request.output.empty() && !request.dry_run) throw py::value_error("dst: an output path (or dry_run=True)");
    const int thread_count = thread_count_argument(threads);

    InterruptScope interrupt;
    const std::atomic<bool>* ctrl_c = interrupt.cancel_flag();
    std::atomic<bool> stop{false};  // Ctrl-C or the callback failing
    std::optional<py::error_already_set> callback_error;
    const quantize::Options options = quantize::resolve(request, &stop);
    ThreadPool pool(thread_count);
    quantize::ProgressFn on_progress = [&](const quantize::Progress& p) {
        if (progress.is_none() || callback_error) return;
        py::gil_scoped_acquire locked;
        const double fraction =
            p.bytes_total ? static_cast<double>(p.bytes_done) / static_cast<double>(p.bytes_total) : 1.0;
        const std::string message = "[" + std::to_string(p.tensors_done) + "/" + std::to_string(p.tensors_total) +
                                    "] " + (p.last ? p.last->name + " " + p.last->type : std::string());
        try {
            progress(message, fraction);
        } catch (py::error_already_set& e) {
            callback_error.emplace(std::move(e));
            stop.store(true);
        }
    };
    // Ctrl-C reaches the run through `stop`: a watcher polls the signal flag (progress comes
    // only once per tensor).
    std::atomic<bool> finished{false};
    quantize::Report report;
    {
        py::gil_scoped_release unlocked;
        std::thread watcher([&] {
            while (!finished.load()) {
                if (ctrl_c->load()) stop.store(true);
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
        });
        try {
            report = quantize::quantize_model(options, pool, on_progress);
            if (!report_path.empty()) quantize::write_report(report_path, report);
        } catch (...) {
            finished.store(true);
            watcher.join();
            py::gil_scoped_acquire locked;
            if (callback_error) {
                py::error_already_set e = std::move(*callback_error);
                callback_error.reset();
                throw e;
            }
            interrupt.raise_if_interrupted();
            throw;
        }
        finished.store(true);
        watcher.join();
    }
    return json_loads(quantize::report_json(report));
}

py::dict inspect(const py::object& path, bool tensors) {
    const std::string p = fspath(path);
    std::string text;
    {
        py::gil_scoped_release unlocked;
        text = cli::report_json(cli::inspect_model(p), tensors).dump();
    }
    return json_loads(text);
}

}  // namespace

void bind_quantize(py::module_& m) {
    m.def("quantize_model", &quantize_model, "src"_a, "dst"_a = py::none(),
          "Quantizes a model file or folder as `lowbit quantize SRC DST` does (the same bytes for the same "
          "options) and returns its report (lowbit.quantize-report/1) as a dict. Options, as the CLI's flags: "
          "type, bits, group_size, asym (or symmetric), profile, keep, tensor_types, min_cosine, nan, strict, "
          "dry_run, max_memory, mode, shards, ternarize, out_format, threads, report (a path for the JSON), and "
          "progress=callable(message, fraction), called after each tensor.");
    m.def("inspect", &inspect, "path"_a, "tensors"_a = true,
          "Describes a model (GGUF, SafeTensors, a shard index, a Hugging Face folder) as `lowbit inspect --json`.");
}

}  // namespace lowbit::python
