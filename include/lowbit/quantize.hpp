// Whole-model quantization (`lowbit quantize`, ../shared/spec/quantizer.md): every tensor of a
// model (a GGUF, a SafeTensors file, a sharded SafeTensors model or a Hugging Face folder; F32,
// F16, BF16, or any type lowbit decodes, dequantized on the fly) re-encoded to a planned type,
// with the quality of each tensor measured against its original (every group with its own
// scale) and a fallback to wider types when it is too low. Out: a GGUF (an HF llama or BitNet
// folder mapped to llama.cpp's names and metadata, so `lowbit run` executes it) or a
// SafeTensors file with each tensor's packed parts and a quantization_config.
//
// Policy per tensor, first match wins: 1-D tensors (norms, biases) are stored as they are; a
// `tensor_types` rule; a `keep` match is stored as it is; else `type`. A type that cannot hold the tensor's
// shape is skipped for the next of its chain (an error when `strict`); with `min_cosine`, a type
// whose cosine similarity falls below it is too. Chains: INT2 -> INT4 -> INT8 (same group and
// symmetry), Q4_0/Q4_1/Q6_K -> Q8_0, the 2-bit and ternary types -> Q4_0 -> Q8_0, and F16 last.
//
// Execution (streaming, the default): tensors one at a time in file order, each split by rows
// over the pool (a tensor's bytes do not depend on the thread count), written as they are done
// when every type is known up front, else to an unnamed spool file beside the output until it
// is; the output goes to a temporary name, fsynced, renamed. Memory holds one tensor's encoding
// and a chunk of rows per thread (the ternary types: the tensor as floats), whatever the
// model's size; with `max_memory` the plan refuses, naming the tensor, when one would not fit.
// Batch mode reads every tensor into memory first and writes at the end: for comparison only.
// A failure or cancellation leaves nothing under the output name.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lowbit/weight_type.hpp"

namespace lowbit {
class ThreadPool;
}

namespace lowbit::quantize {

enum class NanPolicy { error, zero };
enum class OutFormat { gguf, safetensors };
enum class Mode { streaming, batch };
// How float weights reach a ternary type: absmean ternarization first (the spec's BitNet rule;
// weights already ternary x one scale are kept as they are), or none: the type's own rounding
// on the values as they are (llama.cpp's rule for TQ1_0/TQ2_0, what llama-quantize writes).
enum class Ternarize { absmean, none };

// Tensors whose name matches `pattern` (ECMAScript regex, searched anywhere in the name) get
// `type`.
struct TypeRule {
    std::string pattern;
    TypeId type{};
};

// Calibration-based quantization (docs/QUANTIZE.md, "Calibration"): statistics of each layer's
// input from `lowbit.calibrate.collect`, used for activation parameters per timestep group and
// for the weights' per-channel scaling.
enum class TimeSplit { uniform, dp };
enum class ChannelScaling { none, smooth, smooth_auto, awq };
struct CalibrationOptions {
    std::filesystem::path stats;
    int act_bits = 8;  // activation scale and zero point per layer and timestep group; 0: none
    int64_t time_groups = 1;
    TimeSplit time_split = TimeSplit::uniform;
    ChannelScaling scaling = ChannelScaling::none;
    double smooth_alpha = 0.5;  // ChannelScaling::smooth
};

struct Options {
    std::filesystem::path input;  // GGUF, .safetensors, model.safetensors.index.json, or a folder
    std::filesystem::path output;
    OutFormat out_format = OutFormat::gguf;
    TypeId type = int_group_type_id(4, false, 128);  // 2-D tensors without a rule
    // INTn with each tensor's bits from its entropy hint (`type`, an INTn type, gives the group
    // size and symmetry); the chosen type still falls back under min_cosine
    bool auto_bits = false;
    // 1-D tensors stored in another float type are converted to this one (e.g. F32 norms)
    std::optional<TypeId> vector_type;
    std::vector<std::string> keep;                   // regexes of tensors stored as they are
    std::vector<TypeRule> tensor_types;
    std::optional<double> min_cosine;           // fall back below this cosine similarity (none: never)
    NanPolicy nan = NanPolicy::error;           // a NaN or infinity: an error naming it, or set to 0
    bool strict = false;                        // a shape the planned type cannot hold: an error
    bool dry_run = false;                       // measure and report, write nothing
    Mode mode = Mode::streaming;
    Ternarize ternarize = Ternarize::absmean;
    std::optional<uint64_t> max_memory;  // bytes the plan may use for its largest work item
    const std::atomic<bool>* cancel = nullptr;  // set from anywhere: stop at the next row chunk
    std::optional<CalibrationOptions> calibration;
    int shards = 1;  // > 1: a GGUF split set OUTPUT-0000i-of-0000N.gguf (llama.cpp's gguf-split convention)
};

// What calibration chose for one layer, with the output error it measured on the sampled input
// rows: ||Q(W diag(s)) (x / s) - W x||^2 / ||W x||^2, the activations fake-quantized with their
// group's parameters when act_bits > 0 (AWQ: weights only, its objective).
struct CalibrationReport {
    std::string layer;
    std::string method;     // "plain", "smooth" or "awq"
    double alpha = 0;       // the exponent chosen (smooth, awq)
    double output_error_plain = 0;  // with s = 1
    double output_error = 0;        // with the choice
    double clip_ratio = 1;  // AWQ: the weight blocks' clamp bound over their max |w|, mean (1: none)
    double act_error_one_range = 0;  // the activations alone, one range for every timestep
    double act_error = 0;            // with the time groups
    int64_t samples = 0;
};

struct TensorReport {
    std::string name;
    std::vector<int64_t> shape;  // as GGUF stores it: shape[0] is the row length
    std::string source_type;
    std::string planned_type;  // before any fallback
    std::string type;          // what was written
    bool kept = false;         // stored as it was (no measurement)
    double bits_per_weight = 0;
    double cosine = 1;
    double relative_mse = 0;  // mse / mean(original^2)
    double max_abs_error = 0;
    double seconds = 0;
    std::string fallback;  // why `type` differs from `planned_type`, "" when it does not
    double entropy = -1;   // the entropy hint, with auto_bits (-1: not computed)
    bool ternarized = false;  // absmean-ternarized on the way (not already ternary x one scale)
    uint64_t memory_bytes = 0;  // the plan's estimate of what this tensor's work holds
    int64_t zeroed = 0;    // non-finite values set to 0 (NanPolicy::zero)
    uint64_t input_bytes = 0;
    uint64_t output_bytes = 0;
    std::optional<CalibrationReport> calibration;
};

struct Report {
    std::string input;
    std::string output;
    std::vector<TensorReport> tensors;  // in file order
    uint64_t input_bytes = 0;           // the files' sizes (the output's 0 in a dry run)
    uint64_t output_bytes = 0;          // of every file written
    std::size_t output_files = 1;       // a split set's file count (`output` is its first)
    double bits_per_weight = 0;  // written tensor bytes * 8 / elements, over all tensors
    double seconds = 0;
    int threads = 1;
    int64_t fallbacks = 0;
    uint64_t peak_rss_bytes = 0;  // of this process, when the run ended
    uint64_t planned_peak_bytes = 0;  // the plan's estimate: the largest work item, or (batch) all
    bool dry_run = false;
    std::string mode;        // "streaming" or "batch"
    std::string out_format;  // "gguf" or "safetensors"
    std::string architecture;  // of a mapped Hugging Face model, else ""
    std::vector<int32_t> timestep_groups;  // with calibration: the group of each timestep
    double time_group_spread = 0;          // the split's summed spread (time_groups.hpp)
    double one_group_spread = 0;           // the same with one group
};

struct Progress {
    std::size_t tensors_done = 0;
    std::size_t tensors_total = 0;
    uint64_t bytes_done = 0;  // input bytes of the tensors done
    uint64_t bytes_total = 0;
    double seconds = 0;
    const TensorReport* last = nullptr;  // the tensor just done
};
using ProgressFn = std::function<void(const Progress&)>;

// Throws lowbit::Error naming the file, tensor or field (bad_argument, bad_file, io, cancelled).
Report quantize_model(const Options& options, ThreadPool& pool, const ProgressFn& progress = {});

// The report as JSON, schema "lowbit.quantize-report/1" (docs/QUANTIZE.md).
std::string report_json(const Report& report);
// Writes report_json() to `path` (complete or not at all, like the model).
void write_report(const std::filesystem::path& path, const Report& report);

// One tensor in memory (rows x cols values of F32, F16 or BF16 at `data`, row-major), encoded as
// `type` exactly as quantize_model encodes a tensor (the same bytes, row chunks over the pool)
// and measured against its values. Of `options` only nan, ternarize and cancel apply; there is
// no fallback: a shape the type cannot store is an error. `name` names it in errors.
struct EncodedArray {
    std::vector<uint8_t> bytes;  // type.tensor_bytes(rows, cols)
    double cosine = 1;
    double relative_mse = 0;
    double max_abs_error = 0;
    bool ternarized = false;
    int64_t zeroed = 0;
};
EncodedArray quantize_array(const std::string& name, std::span<const uint8_t> data, TypeId source_type, int64_t rows,
                            int64_t cols, TypeId type, const Options& options, ThreadPool& pool);

// Every tensor of a model file as floats, for a runtime outside lowbit's engine (the Python
// package's lowbit.torch): a GGUF (any type lowbit decodes) or a SafeTensors file (F32/F16/BF16
// tensors; a lowbit output's quantized tensors reassembled from their parts by its
// quantization_config and decoded). `shape` is PyTorch's order (outermost first): a quantized
// tensor of rank > 2 has its source's shape in a SafeTensors output, its matrix [rows, cols] in a
// GGUF. `metadata`: the file's string metadata. Tensors lowbit does not decode are an error
// naming them.
struct FloatTensor {
    std::string name;
    std::string type;  // as stored ("F32", "INT4_SYM_G128", ...)
    std::vector<int64_t> shape;
    std::vector<float> values;
};
struct FloatTensors {
    std::vector<FloatTensor> tensors;  // in file order
    std::vector<std::pair<std::string, std::string>> metadata;
};
FloatTensors read_float_tensors(const std::filesystem::path& path);

// The types tried for a tensor planned as `planned`, in order (planned first, F16 last).
std::vector<const WeightType*> fallback_chain(const WeightType& planned);

}  // namespace lowbit::quantize
