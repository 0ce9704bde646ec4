// The array API: formats, ISA levels, quantize / dequantize, gemv / matmul, metrics.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <mutex>
#include <string>

#include "arrays.hpp"
#include "bindings.hpp"
#include "errors.hpp"
#include "interrupt.hpp"
#include "lowbit/activation.hpp"
#include "lowbit/error.hpp"
#include "lowbit/isa.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/matmul.hpp"
#include "lowbit/metrics.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/thread_pool.hpp"
#include "quantized_tensor.hpp"

namespace py = pybind11;
using namespace py::literals;

namespace lowbit::python {
namespace {

std::mutex pool_mutex;
std::shared_ptr<ThreadPool> pool_instance;

// Products this small cost less than waking the pool's threads (the 64x64 gemv's overhead).
constexpr int64_t kInlineElements = int64_t{1} << 16;

ThreadPool& inline_pool() {
    static thread_local ThreadPool one(1);
    return one;
}

bool has_any_kernel(const Kernels& k) {
    return k.quantize || k.dequantize || k.gemv_i8 || k.gemm_i8 || k.gemv_f32 || k.gemm_f32 || k.gemm_packed;
}

py::list formats() {
    py::list out;
    for (const WeightType& t : weight_types()) {
        py::list isas;
        for (std::size_t i = 0; i < kIsaCount; ++i) {
            const Isa isa = static_cast<Isa>(i);
            if (isa_compiled_in(isa) && has_any_kernel(t.isa[i])) isas.append(std::string(isa_name(isa)));
        }
        out.append(py::dict("name"_a = std::string(t.name), "bits"_a = t.bits_per_weight, "block"_a = t.block_elems,
                            "block_bytes"_a = t.block_bytes, "ternary"_a = t.ternary,
                            "col_multiple"_a = t.col_multiple, "layout"_a = std::string(t.layout), "isas"_a = isas));
    }
    return out;
}

const WeightType& type_argument(const std::string& name, const py::object& group_size, const py::object& symmetric) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "int2" || lower == "int4" || lower == "int8") {
        const int bits = lower[3] - '0';
        const int group = group_size.is_none() ? 128 : group_size.cast<int>();
        if (group != 32 && group != 64 && group != 128 && group != 256) {
            throw py::value_error("group_size: " + std::to_string(group) + " is not 32, 64, 128 or 256");
        }
        const bool asymmetric = symmetric.is_none() ? true : !symmetric.cast<bool>();
        return weight_type(int_group_type_id(bits, asymmetric, group));
    }
    if (!group_size.is_none()) {
        throw py::value_error("group_size: only for type='int2', 'int4' or 'int8' (" + name + " has its own blocks)");
    }
    if (!symmetric.is_none()) {
        throw py::value_error("symmetric: only for type='int2', 'int4' or 'int8' (" + name + " fixes its own)");
    }
    const WeightType* t = find_weight_type(name);
    if (t == nullptr) throw py::value_error("type: unknown weight type '" + name + "' (lowbit.formats() lists them)");
    return *t;
}

quantize::NanPolicy nan_argument(const std::string& nan) {
    if (nan == "error") return quantize::NanPolicy::error;
    if (nan == "zero") return quantize::NanPolicy::zero;
    throw py::value_error("nan: '" + nan + "' is not 'error' or 'zero'");
}

quantize::Ternarize ternarize_argument(const std::string& ternarize) {
    if (ternarize == "absmean") return quantize::Ternarize::absmean;
    if (ternarize == "none") return quantize::Ternarize::none;
    throw py::value_error("ternarize: '" + ternarize + "' is not 'absmean' or 'none'");
}

QuantizedTensor quantize_array(const py::object& array, const std::string& type_name, const py::object& group_size,
                               const py::object& symmetric, const std::string& nan, const std::string& ternarize,
                               bool copy) {
    const WeightType& type = type_argument(type_name, group_size, symmetric);
    const ArrayInput in = weights_argument(array, "array", copy);
    quantize::Options options;
    options.nan = nan_argument(nan);
    options.ternarize = ternarize_argument(ternarize);
    InterruptScope interrupt;
    options.cancel = interrupt.cancel_flag();
    QuantizedTensor qt;
    qt.type = &type;
    qt.rows = in.rows;
    qt.cols = in.cols;
    qt.vector = in.shape.size() == 1;
    const std::shared_ptr<ThreadPool> pool = shared_pool();
    try {
        py::gil_scoped_release unlocked;
        quantize::EncodedArray encoded =
            quantize::quantize_array("array", in.bytes(), in.type, in.rows, in.cols, type.id, options, *pool);
        qt.bytes = std::move(encoded.bytes);
        qt.cosine = encoded.cosine;
        qt.relative_mse = encoded.relative_mse;
        qt.max_abs_error = encoded.max_abs_error;
    } catch (const Error& e) {
        interrupt.raise_if_interrupted();
        if (e.code() == ErrorCode::bad_argument || e.code() == ErrorCode::bad_file) throw FormatFailure(e.what());
        throw;
    }
    return qt;
}

py::array dequantize(const QuantizedTensor& qt) {
    const Kernels& ops = default_kernel_set()[*qt.type].ops;
    if (ops.dequantize == nullptr) fail_as(ErrorCode::unsupported, qt.type->name, " has no dequantize kernel");
    std::vector<float> out(static_cast<std::size_t>(qt.rows * qt.cols));
    {
        const std::shared_ptr<ThreadPool> pool = shared_pool();
        py::gil_scoped_release unlocked;
        const WeightView w = qt.view();
        ThreadPool& p = qt.rows * qt.cols <= kInlineElements ? inline_pool() : *pool;
        p.parallel_for(qt.rows, kRowGrain, [&](int64_t begin, int64_t end) {
            ops.dequantize(w, begin, end, out.data() + begin * qt.cols);
        });
    }
    if (qt.vector) return owning_array(std::move(out), {qt.cols});
    return owning_array(std::move(out), {qt.rows, qt.cols});
}

enum class Activations { int8, f32 };
Activations activations_argument(const std::string& name) {
    if (name == "int8") return Activations::int8;
    if (name == "f32") return Activations::f32;
    throw py::value_error("activations: '" + name + "' is not 'int8' or 'f32'");
}

void check_cols(const QuantizedTensor& qt, int64_t cols, const char* arg, const ArrayInput& in) {
    if (cols != qt.cols) {
        throw py::value_error(std::string(arg) + ": " + std::to_string(cols) + " values per row, but the " +
                              std::string(qt.type->name) + " tensor has " + std::to_string(qt.cols) +
                              " columns (shape " + std::to_string(in.rows) + " x " + std::to_string(in.cols) + ")");
    }
}

// The product `mode` asks for exists for the type (has_int8 / has_f32), or an UnsupportedError
// that points to the other.
void require_product(const QuantizedTensor& qt, Activations mode, bool has_int8, bool has_f32) {
    if (mode == Activations::int8 && !has_int8) {
        fail_as(ErrorCode::unsupported, qt.type->name, " has no int8-activation product; use activations='f32'");
    }
    if (mode == Activations::f32 && !has_f32) {
        fail_as(ErrorCode::unsupported, qt.type->name, " has no f32-activation product; use activations='int8'");
    }
}

py::array gemv(const QuantizedTensor& qt, const py::object& x_obj, const std::string& activations, bool copy) {
    const ArrayInput x = float32_argument(x_obj, "x", copy, 1, 1);
    check_cols(qt, x.cols, "x", x);
    const Activations mode = activations_argument(activations);
    const TypeKernelSet& kernels = default_kernel_set()[*qt.type];
    require_product(qt, mode, kernels.ops.gemv_i8 != nullptr, kernels.ops.gemv_f32 != nullptr);
    std::vector<float> y(static_cast<std::size_t>(qt.rows));
    const bool small = qt.rows * qt.cols <= kInlineElements;
    {
        // a small product runs inline: waking the pool would cost more than the product
        const std::shared_ptr<ThreadPool> pool = small ? nullptr : shared_pool();
        py::gil_scoped_release unlocked;
        ThreadPool& p = small ? inline_pool() : *pool;
        const WeightView w = qt.view();
        if (mode == Activations::int8) {
            std::vector<int8_t> q(static_cast<std::size_t>(qt.cols));
            const ActivationRowI8 xq = quantize_activation_row({x.floats(), static_cast<std::size_t>(qt.cols)}, q);
            lowbit::gemv(default_kernel_set(), *qt.type, w, xq, y.data(), p);
        } else {
            const GemvF32Fn kernel = kernels.ops.gemv_f32;
            p.parallel_for(qt.rows, kRowGrain,
                           [&](int64_t begin, int64_t end) { kernel(w, begin, end, x.floats(), y.data() + begin); });
        }
    }
    return owning_array(std::move(y), {qt.rows});
}

py::array matmul(const QuantizedTensor& qt, const py::object& x_obj, const std::string& activations, bool copy) {
    const ArrayInput x = float32_argument(x_obj, "X", copy, 2, 2);
    check_cols(qt, x.cols, "X", x);
    const Activations mode = activations_argument(activations);
    const TypeKernelSet& kernels = default_kernel_set()[*qt.type];
    require_product(qt, mode, kernels.ops.gemm_i8 != nullptr, kernels.ops.gemm_f32 != nullptr);
    const int64_t tokens = x.rows;
    std::vector<float> y(static_cast<std::size_t>(tokens * qt.rows));
    {
        const std::shared_ptr<ThreadPool> pool = shared_pool();
        py::gil_scoped_release unlocked;
        const WeightView w = qt.view();
        if (mode == Activations::int8) {
            std::vector<int8_t> q(static_cast<std::size_t>(tokens * qt.cols));
            std::vector<float> scale(static_cast<std::size_t>(tokens));
            std::vector<int32_t> sum(static_cast<std::size_t>(tokens));
            for (int64_t t = 0; t < tokens; ++t) {
                const ActivationRowI8 row = quantize_activation_row(
                    {x.floats() + t * qt.cols, static_cast<std::size_t>(qt.cols)},
                    {q.data() + t * qt.cols, static_cast<std::size_t>(qt.cols)});
                scale[t] = row.scale;
                sum[t] = row.sum;
            }
            const ActivationsI8 xs{q.data(), tokens, qt.cols, qt.cols, scale.data(), sum.data()};
            lowbit::gemm(default_kernel_set(), *qt.type, w, xs, y.data(), qt.rows, *pool);
        } else {
            const GemmF32Fn kernel = kernels.ops.gemm_f32;
            pool->parallel_for(qt.rows, kRowGrain, [&](int64_t begin, int64_t end) {
                kernel(w, begin, end, x.floats(), tokens, qt.cols, y.data() + begin, qt.rows);
            });
        }
    }
    return owning_array(std::move(y), {tokens, qt.rows});
}

std::pair<ArrayInput, ArrayInput> metric_pair(const py::object& a, const py::object& b, bool copy) {
    ArrayInput x = float32_argument(a, "a", copy, 0, 0);
    ArrayInput y = float32_argument(b, "b", copy, 0, 0);
    if (x.array.size() != y.array.size()) {
        throw py::value_error("b: " + std::to_string(y.array.size()) + " values, but a has " +
                              std::to_string(x.array.size()));
    }
    return {std::move(x), std::move(y)};
}

std::span<const float> floats_of(const ArrayInput& in) {
    return {in.floats(), static_cast<std::size_t>(in.array.size())};
}

// Views of the tensor's parts, where its layout has them.
py::dict part_views(const py::object& self) {
    const QuantizedTensor& qt = self.cast<const QuantizedTensor&>();
    const WeightType& t = *qt.type;
    const uint8_t* base = qt.bytes.data();
    const py::ssize_t rows = qt.rows, cols = qt.cols;
    py::dict parts;
    const auto u8 = py::dtype::of<uint8_t>(), i8 = py::dtype::of<int8_t>(), f16 = py::dtype("float16");
    if (is_int_group_type(t.id)) {
        const IntGroupParams p = int_group_params(t.id);
        const py::ssize_t groups = (cols + p.group - 1) / p.group;
        const py::ssize_t row_bytes = (cols * p.bits + 7) / 8;
        const py::ssize_t codes = rows * row_bytes;
        if (p.bits == 8) {
            parts["codes"] = readonly_view(p.asymmetric ? u8 : i8, {rows, cols}, {cols, 1}, base, self);
        } else {
            parts["codes"] = readonly_view(u8, {rows, row_bytes}, {row_bytes, 1}, base, self);
        }
        parts["scales"] = readonly_view(f16, {rows, groups}, {groups * 2, 2}, base + codes, self);
        if (p.asymmetric) {
            parts["zeros"] = readonly_view(u8, {rows, groups}, {groups, 1}, base + codes + rows * groups * 2, self);
        }
    } else if (t.id == TypeId::Q8_0 || t.id == TypeId::Q4_0 || t.id == TypeId::Q4_1) {
        // ggml blocks of 32: f16 d (Q4_1: then f16 m), then the codes
        const py::ssize_t blocks = cols / 32, bb = t.block_bytes, rb = blocks * bb;
        const py::ssize_t head = t.id == TypeId::Q4_1 ? 4 : 2;
        parts["scales"] = readonly_view(f16, {rows, blocks}, {rb, bb}, base, self);
        if (t.id == TypeId::Q4_1) parts["mins"] = readonly_view(f16, {rows, blocks}, {rb, bb}, base + 2, self);
        if (t.id == TypeId::Q8_0) {
            parts["codes"] = readonly_view(i8, {rows, blocks, 32}, {rb, bb, 1}, base + head, self);
        } else {
            parts["codes"] = readonly_view(u8, {rows, blocks, 16}, {rb, bb, 1}, base + head, self);
        }
    }
    return parts;
}

py::object part(const py::object& self, const char* name) {
    py::dict parts = part_views(self);
    return parts.contains(name) ? py::object(parts[name]) : py::object(py::none());
}

}  // namespace

std::shared_ptr<ThreadPool> shared_pool() {
    std::lock_guard<std::mutex> lock(pool_mutex);
    if (!pool_instance) pool_instance = std::make_shared<ThreadPool>(default_thread_count());
    return pool_instance;
}

int thread_count_argument(const py::object& threads, const char* arg) {
    if (threads.is_none()) return default_thread_count();
    const int n = threads.cast<int>();
    if (n < 1 || n > 1024) throw py::value_error(std::string(arg) + ": " + std::to_string(n) + " is not in 1..1024");
    return n;
}

void bind_kernels(py::module_& m) {
    m.def("formats", &formats,
          "Every weight type: name, bits (per weight, storage), block (elements per block or group), block_bytes, "
          "ternary, col_multiple (columns must be a multiple of it), layout, and the ISA levels with their own "
          "kernels.");
    m.def("isa", [] { return std::string(isa_name(active_isa())); },
          "The ISA level the kernels run at (the best this CPU runs, LOWBIT_ISA, or set_isa()'s).");
    m.def("isas", [] {
        py::list out;
        for (std::size_t i = 0; i < kIsaCount; ++i) {
            const Isa isa = static_cast<Isa>(i);
            if (isa_compiled_in(isa) && isa_supported_by_cpu(isa)) out.append(std::string(isa_name(isa)));
        }
        return out;
    }, "The ISA levels this CPU and build can run.");
    m.def("set_isa", [](const std::string& name) {
        const std::optional<Isa> isa = parse_isa(name);
        if (!isa) throw py::value_error("name: unknown ISA level '" + name + "' (lowbit.isas() lists this CPU's)");
        set_isa(*isa);
    }, "name"_a, "Runs later calls at this level (scalar, avx2, avx512, avx512_vnni, amx, ...). Models bind their "
                 "level when loaded. Not safe while another thread is running a kernel.");
    m.def("threads", [] { return shared_pool()->size(); }, "Threads the array functions use.");
    m.def("set_threads", [](const py::object& n) {
        auto pool = std::make_shared<ThreadPool>(thread_count_argument(n, "n"));
        std::lock_guard<std::mutex> lock(pool_mutex);
        pool_instance = std::move(pool);
    }, "n"_a, "Threads for the array functions (None: every CPU this process may use). Models and quantize_model "
              "take their own threads= argument.");

    py::class_<QuantizedTensor>(m, "QuantizedTensor",
                                "A weight matrix in a lowbit type, in memory lowbit owns. Views (.data, .codes, "
                                "...) are read-only and keep it alive.")
        .def_property_readonly("type", [](const QuantizedTensor& q) { return std::string(q.type->name); })
        .def_property_readonly("shape", [](const QuantizedTensor& q) {
            return q.vector ? py::make_tuple(q.cols) : py::make_tuple(q.rows, q.cols);
        })
        .def_property_readonly("nbytes", [](const QuantizedTensor& q) { return q.bytes.size(); })
        .def_property_readonly("bits_per_weight", [](const QuantizedTensor& q) {
            return static_cast<double>(q.bytes.size()) * 8.0 / static_cast<double>(q.rows * q.cols);
        }, "Bytes * 8 / elements, scales and tails included.")
        .def_property_readonly("cosine", [](const QuantizedTensor& q) { return q.cosine; },
                               "Cosine similarity of the dequantized values with the input.")
        .def_property_readonly("relative_mse", [](const QuantizedTensor& q) { return q.relative_mse; },
                               "MSE / mean(input^2).")
        .def_property_readonly("max_abs_error", [](const QuantizedTensor& q) { return q.max_abs_error; })
        .def_property_readonly("data", [](const py::object& self) {
            const QuantizedTensor& q = self.cast<const QuantizedTensor&>();
            const auto n = static_cast<py::ssize_t>(q.bytes.size());
            return readonly_view(py::dtype::of<uint8_t>(), {n}, {1}, q.bytes.data(), self);
        }, "The tensor's bytes as stored in files of its type (uint8, read-only view).")
        .def_property_readonly("codes", [](const py::object& self) { return part(self, "codes"); },
                               "The codes (INTn: packed rows, INT8 one per value; Q8_0: int8 (rows, blocks, 32); "
                               "Q4_0/Q4_1: packed (rows, blocks, 16)), or None.")
        .def_property_readonly("scales", [](const py::object& self) { return part(self, "scales"); },
                               "float16 (rows, groups or blocks), or None.")
        .def_property_readonly("zeros", [](const py::object& self) { return part(self, "zeros"); },
                               "uint8 zero points (rows, groups) of asymmetric INTn, or None.")
        .def_property_readonly("mins", [](const py::object& self) { return part(self, "mins"); },
                               "Q4_1's float16 block minimums (x = d * q + m), or None.")
        .def("dequantize", &dequantize, "The values as float32, in the input's shape.")
        .def("__matmul__", [](const QuantizedTensor& q, const py::object& x) { return gemv(q, x, "int8", false); },
             "W @ x for a float32 vector (int8 activations); for a batch, lowbit.matmul(W, X).")
        .def("__repr__", [](const QuantizedTensor& q) {
            return "QuantizedTensor(type=" + std::string(q.type->name) + ", shape=" +
                   (q.vector ? "(" + std::to_string(q.cols) + ",)"
                             : "(" + std::to_string(q.rows) + ", " + std::to_string(q.cols) + ")") +
                   ", nbytes=" + std::to_string(q.bytes.size()) + ")";
        });

    m.def("quantize", &quantize_array, "array"_a, "type"_a = "int4", "group_size"_a = py::none(),
          "symmetric"_a = py::none(), "nan"_a = "error", "ternarize"_a = "absmean", "copy"_a = false,
          "Quantizes a 1-D or 2-D float32/float16/uint16(bfloat16) array (rows x cols, cols = input features) to "
          "`type`: 'int2', 'int4', 'int8' (group_size 32/64/128/256, default 128; symmetric default False) or any "
          "name of lowbit.formats(). The same bytes as `lowbit quantize` writes for the tensor.");
    m.def("dequantize", &dequantize, "qt"_a, "The tensor's values as float32.");
    m.def("gemv", &gemv, "qt"_a, "x"_a, "activations"_a = "int8", "copy"_a = false,
          "y = W x for a float32 vector x of qt.shape[1] values. activations='int8': x quantized per row as the "
          "engine does (exact integer sums); 'f32': each row dequantized, float dot products.");
    m.def("matmul", &matmul, "qt"_a, "X"_a, "activations"_a = "int8", "copy"_a = false,
          "Y = X W^T for float32 X of shape (tokens, qt.shape[1]) (as torch.nn.functional.linear): (tokens, rows).");
    m.def("cosine_similarity", [](const py::object& a, const py::object& b, bool copy) {
        auto [x, y] = metric_pair(a, b, copy);
        py::gil_scoped_release unlocked;
        return cosine_similarity(floats_of(x), floats_of(y));
    }, "a"_a, "b"_a, "copy"_a = false, "Cosine similarity of two float32 arrays of the same size (1 when both are 0).");
    m.def("metrics", [](const py::object& a, const py::object& b, bool copy) {
        auto [x, y] = metric_pair(a, b, copy);
        ErrorMetrics e;
        {
            py::gil_scoped_release unlocked;
            e = compare(floats_of(x), floats_of(y));
        }
        return py::dict("cosine"_a = e.cosine, "mse"_a = e.mse, "max_abs_error"_a = e.max_abs_error,
                        "snr_db"_a = e.snr_db);
    }, "reference"_a, "approx"_a, "copy"_a = false,
          "cosine, mse, max_abs_error and snr_db of `approx` against `reference` (float32, same size).");
}

}  // namespace lowbit::python
