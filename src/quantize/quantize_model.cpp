#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <optional>

#include "lowbit/error.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/thread_pool.hpp"
#include "calibration_plan.hpp"
#include "output_file.hpp"
#include "plan.hpp"
#include "spool.hpp"
#include "tensor_quantizer.hpp"

namespace lowbit::quantize {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The high-water mark of this program's own memory (VmHWM). getrusage's ru_maxrss would also
// count what the process that forked it held before exec.
uint64_t peak_rss_bytes() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "VmHWM:   1234 kB"
    }
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<uint64_t>(u.ru_maxrss) * 1024;
}

void check_paths(const Options& o) {
    if (o.input.empty()) fail_field("input", "no input model given");
    if (o.output.empty() && !o.dry_run) fail_field("output", "no output file given");
    std::error_code ec;
    if (!o.output.empty() && std::filesystem::exists(o.output, ec) &&
        std::filesystem::equivalent(o.input, o.output, ec)) {
        fail_field("output", o.output.string(), ": the output is the input model; choose another file");
    }
    if (!o.output.empty() && std::filesystem::is_directory(o.output, ec)) {
        fail_field("output", o.output.string(), ": is a directory; give a file name");
    }
}

}  // namespace

Report quantize_model(const Options& o, ThreadPool& pool, const ProgressFn& progress) {
    const Clock::time_point start = Clock::now();
    check_paths(o);
    const Policy policy(o);
    const TensorSource src =
        TensorSource::open(o.input, o.out_format == OutFormat::gguf ? Naming::gguf : Naming::as_stored);
    std::vector<SourceTensor> tensors = src.tensors();

    Report report;
    std::optional<CalibrationPlan> calibration;  // adds its tensors after the model's
    if (o.calibration) calibration.emplace(*o.calibration, tensors, report);
    report.input = o.input.string();
    report.output = o.dry_run ? std::string() : o.output.string();
    report.input_bytes = src.file_size();
    report.threads = pool.size();
    report.dry_run = o.dry_run;
    report.mode = o.mode == Mode::batch ? "batch" : "streaming";
    report.out_format = o.out_format == OutFormat::gguf ? "gguf" : "safetensors";
    report.architecture = src.architecture();

    Progress p;
    p.tensors_total = tensors.size();
    for (const SourceTensor& t : tensors) p.bytes_total += t.data.size();

    // When every type is known now, tensors stream into the output as they are done, chunk by
    // chunk. Otherwise (a quality threshold, bits by entropy) they wait in a spool (batch: in
    // memory) until the header can be written.
    const bool known_types = !o.min_cosine && !o.auto_bits && o.mode == Mode::streaming;

    // Plan every tensor: the types a shape rules out, and the memory each needs, are known
    // before any work.
    struct Planned {
        TensorPlan plan;
        std::vector<const WeightType*> candidates;  // from the first that can hold the shape
        std::string shape_fallback;
        uint64_t memory = 0;
    };
    std::vector<Planned> planned;
    uint64_t batch_memory = 0;
    const auto candidates_of = [&](const SourceTensor& t, const std::vector<const WeightType*>& chain,
                                   std::string& shape_fallback) {
        std::size_t k = 0;
        for (std::string why; k < chain.size(); ++k) {
            if (can_store(*chain[k], t.rows, t.cols, why)) break;
            if (o.strict || k + 1 == chain.size()) {
                fail_as(ErrorCode::bad_argument, t.where(), ": ", chain[k]->name, " cannot store it: ", why,
                        o.strict ? " (--strict)" : "");
            }
            shape_fallback += concat(shape_fallback.empty() ? "" : "; ", chain[k]->name, ": ", why);
        }
        return std::vector<const WeightType*>(chain.begin() + static_cast<std::ptrdiff_t>(k), chain.end());
    };
    for (const SourceTensor& t : tensors) {
        Planned x{policy.plan(t.name, t.ne), {}, {}, 0};
        if (calibration && calibration->is_added(planned.size())) x.plan = TensorPlan{true, {}};
        if (calibration && calibration->layer_of(planned.size()) != nullptr && x.plan.keep) {
            fail_as(ErrorCode::bad_argument, t.where(), ": the calibration statistics cover it, but it is stored as it "
                    "is (a vector, or --keep); quantize it, or leave its layer out of the statistics (weight_name)");
        }
        const bool is_float = t.weight.type != nullptr &&
                              (t.weight.type->id == TypeId::F32 || t.weight.type->id == TypeId::F16 ||
                               t.weight.type->id == TypeId::BF16);
        if (x.plan.keep && o.vector_type && is_float && t.rows == 1 && t.weight.type->id != *o.vector_type) {
            x.plan.keep = false;  // a norm converted to the vector type (exactly, for F16/BF16 to F32)
            x.plan.candidates = {&weight_type(*o.vector_type)};
        }
        if (!x.plan.keep) {
            if (t.weight.type == nullptr) {
                fail_as(ErrorCode::unsupported, t.where(), ": type ", t.type_name,
                        " is not one lowbit decodes (F32, F16, BF16 or a lowbit weight type); --keep it to store it "
                        "as it is");
            }
            x.candidates = candidates_of(t, x.plan.candidates, x.shape_fallback);
            x.memory = work_item_bytes(t, x.candidates, pool.size(), o, known_types && !o.dry_run);
            if (calibration && calibration->layer_of(planned.size()) != nullptr) x.memory += CalibrationPlan::work_bytes(t);
        } else {
            x.memory = t.data.size();
        }
        if (o.mode == Mode::batch) batch_memory += x.memory;  // each then holds its whole source
        planned.push_back(std::move(x));
    }
    std::size_t largest_index = 0;
    for (std::size_t i = 0; i < planned.size(); ++i) {
        if (planned[i].memory > planned[largest_index].memory) largest_index = i;
    }
    report.planned_peak_bytes = o.mode == Mode::batch ? batch_memory
                                : planned.empty()     ? 0
                                                      : planned[largest_index].memory;
    if (o.max_memory && report.planned_peak_bytes > *o.max_memory) {
        const auto mib = [](uint64_t b) { return concat(static_cast<double>(b) / (1 << 20)); };
        if (o.mode == Mode::batch) {
            fail_field("max_memory", src.source(), ": batch mode holds every tensor, about ",
                       mib(report.planned_peak_bytes), " MiB, more than the limit of ", mib(*o.max_memory),
                       " MiB (streaming needs ", mib(planned[largest_index].memory), " MiB)");
        }
        fail_field("max_memory", tensors[largest_index].where(), ": quantizing it holds about ",
                   mib(planned[largest_index].memory), " MiB with ", pool.size(), " threads, more than the limit of ",
                   mib(*o.max_memory), " MiB");
    }

    // Batch mode: every tensor read into memory first, as a tool that loads the model would.
    std::vector<std::vector<uint8_t>> loaded;
    if (o.mode == Mode::batch) {
        loaded.reserve(tensors.size());
        for (SourceTensor& t : tensors) {
            if (t.file_bytes.empty()) continue;  // calibration's tensors: in memory, filled as layers are done
            loaded.emplace_back(t.data.begin(), t.data.end());
            t.data = loaded.back();
            t.weight.view.data = loaded.back().data();
        }
    }

    std::unique_ptr<OutputFile> out;
    const auto open_out = [&](const std::vector<const WeightType*>& types) {
        out = open_output(o.out_format, o.output, src, o.type, o.shards);
        if (calibration) out->set_metadata("lowbit.calibration", calibration->metadata_json());
        for (std::size_t i = 0; i < tensors.size(); ++i) out->declare(tensors[i], types[i]);
    };
    const auto write_stored = [&](const SourceTensor& t) {
        out->begin_tensor(t);
        for_each_stored_piece(t, [&](std::span<const uint8_t> piece) { out->write(piece); });
        out->end_tensor();
    };
    if (known_types && !o.dry_run) {
        std::vector<const WeightType*> types;
        for (const Planned& x : planned) types.push_back(x.plan.keep ? nullptr : x.candidates.front());
        open_out(types);
    }
    std::optional<Spool> spool;
    if (!known_types && !o.dry_run && o.mode == Mode::streaming) spool.emplace(o.output);

    struct Done {
        const WeightType* type;  // nullptr: stored as it is
        uint64_t spool_offset;
        uint64_t bytes;
        std::vector<uint8_t> held;  // batch mode
    };
    std::vector<Done> done;
    double elements = 0, out_bits = 0;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        const SourceTensor& t = tensors[i];
        const Planned& x = planned[i];
        const Clock::time_point t0 = Clock::now();
        TensorReport r;
        r.name = t.name;
        r.shape = t.ne;
        r.source_type = t.type_name;
        r.input_bytes = t.data.size();
        r.memory_bytes = x.memory;
        if (x.plan.keep) {
            r.kept = true;
            r.planned_type = r.type = r.source_type;
            r.output_bytes = t.data.size();
            done.push_back({nullptr, 0, t.data.size(), {}});
            if (out) write_stored(t);
        } else {
            std::vector<const WeightType*> candidates = x.candidates;
            std::string shape_fallback = x.shape_fallback;
            r.planned_type = candidates.front()->name;
            if (o.auto_bits && is_int_group_type(candidates.front()->id) &&
                x.plan.candidates.front() == &weight_type(o.type)) {
                r.entropy = entropy_hint(t, o, pool);
                const IntGroupParams g = int_group_params(o.type);
                const WeightType& chosen =
                    weight_type(int_group_type_id(bits_for_entropy(r.entropy), g.asymmetric, g.group));
                shape_fallback.clear();
                candidates = candidates_of(t, fallback_chain(chosen), shape_fallback);
                r.planned_type = chosen.name;
            }
            // calibrated: the weight with its columns scaled (or as it is), the layer's choice in r
            const SourceTensor& input =
                calibration && calibration->layer_of(i) != nullptr
                    ? calibration->prepare(i, [&](std::size_t m) { return planned[m].candidates.front(); }, o, pool, r)
                    : t;
            EncodedTensor e;
            if (out) {
                // its type is final: chunks go straight to their place in the output
                const uint64_t base = out->reserve_tensor(input);
                const ChunkSink sink = [&](uint64_t offset, std::span<const uint8_t> bytes) {
                    out->write_at(base + offset, bytes);
                };
                e = encode_tensor(input, candidates, o, pool, &sink);
                out->end_tensor();
            } else {
                e = encode_tensor(input, candidates, o, pool);
            }
            r.type = e.type->name;
            r.cosine = e.cosine;
            r.relative_mse = e.relative_mse;
            r.max_abs_error = e.max_abs_error;
            r.fallback = shape_fallback.empty() || e.fallback.empty() ? shape_fallback + e.fallback
                                                                      : shape_fallback + "; " + e.fallback;
            r.zeroed = e.zeroed;
            r.ternarized = e.ternarized;
            r.output_bytes = e.size;
            if (r.type != r.planned_type) ++report.fallbacks;
            Done d{e.type, spool ? spool->append(e.bytes) : 0, e.size, {}};
            if (o.mode == Mode::batch) d.held = std::move(e.bytes);
            done.push_back(std::move(d));
        }
        if (o.mode == Mode::streaming) release_source(t);  // mapped: drop what was read
        r.bits_per_weight =
            t.elements() > 0 ? 8.0 * static_cast<double>(r.output_bytes) / static_cast<double>(t.elements()) : 0;
        elements += static_cast<double>(t.elements());
        out_bits += 8.0 * static_cast<double>(r.output_bytes);
        r.seconds = seconds_since(t0);
        report.tensors.push_back(std::move(r));
        ++p.tensors_done;
        p.bytes_done += t.data.size();
        p.seconds = seconds_since(start);
        p.last = &report.tensors.back();
        if (progress) progress(p);
    }
    report.bits_per_weight = elements > 0 ? out_bits / elements : 0;

    if (!out && !o.dry_run) {
        std::vector<const WeightType*> types;
        for (const Done& d : done) types.push_back(d.type);
        open_out(types);
        std::vector<uint8_t> buffer;
        for (std::size_t i = 0; i < tensors.size(); ++i) {
            const Done& d = done[i];
            if (d.type == nullptr) {
                write_stored(tensors[i]);
                if (o.mode == Mode::streaming) release_source(tensors[i]);
                continue;
            }
            out->begin_tensor(tensors[i]);
            if (o.mode == Mode::batch) {
                out->write(d.held);
            } else {
                for (uint64_t at = 0; at < d.bytes;) {
                    const uint64_t piece = std::min<uint64_t>(d.bytes - at, uint64_t{4} << 20);
                    buffer.resize(piece);
                    spool->read(d.spool_offset + at, buffer);
                    out->write(buffer);
                    at += piece;
                }
            }
            out->end_tensor();
        }
    }
    if (out) {
        out->finish();
        const std::vector<std::filesystem::path> files = out->files();
        report.output_bytes = 0;
        for (const std::filesystem::path& f : files) report.output_bytes += std::filesystem::file_size(f);
        report.output = files.front().string();  // a split set's first file: what loads it
        report.output_files = files.size();
    }
    report.seconds = seconds_since(start);
    report.peak_rss_bytes = peak_rss_bytes();
    return report;
}

}  // namespace lowbit::quantize
