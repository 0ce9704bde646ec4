#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "lowbit/error.hpp"
#include "lowbit/gguf_reader.hpp"
#include "lowbit/gguf_writer.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/thread_pool.hpp"
#include "lowbit/version.hpp"
#include "plan.hpp"
#include "spool.hpp"
#include "tensor_quantizer.hpp"

namespace lowbit::quantize {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// llama.cpp's general.file_type for a model mostly of this type, where it has one.
std::optional<uint32_t> llama_file_type(TypeId t) {
    switch (t) {
        case TypeId::F32:
            return 0;
        case TypeId::F16:
            return 1;
        case TypeId::Q4_0:
            return 2;
        case TypeId::Q4_1:
            return 3;
        case TypeId::Q8_0:
            return 7;
        case TypeId::Q6_K:
            return 18;
        case TypeId::BF16:
            return 32;
        case TypeId::TQ1_0:
            return 36;
        case TypeId::TQ2_0:
            return 37;
        default:
            return std::nullopt;
    }
}

// The input is mapped: pages of a tensor that is done leave this process's memory (they stay
// in the page cache), so the resident set holds about one tensor whatever the model's size.
void release_pages(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    const uintptr_t begin = reinterpret_cast<uintptr_t>(bytes.data()) / page * page;
    const uintptr_t end = reinterpret_cast<uintptr_t>(bytes.data() + bytes.size());
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);  // advice: a failure loses nothing
}

uint64_t peak_rss_bytes() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<uint64_t>(u.ru_maxrss) * 1024;
}

struct Written {
    const GgufTensor* source;
    uint32_t type_id;
    uint64_t spool_offset;  // kept tensors are copied from the input instead
    uint64_t bytes;
    bool kept;
};

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
    const GgufFile in = GgufFile::open(o.input);

    Report report;
    report.input = o.input.string();
    report.output = o.dry_run ? std::string() : o.output.string();
    report.input_bytes = in.file_size();
    report.threads = pool.size();
    report.dry_run = o.dry_run;

    Progress p;
    p.tensors_total = in.tensors().size();
    for (const GgufTensor& t : in.tensors()) p.bytes_total += t.bytes;

    // Plan every tensor; the types a shape rules out are known before any work.
    struct Planned {
        const GgufTensor* tensor;
        TensorPlan plan;
        std::vector<const WeightType*> candidates;  // from the first that can hold the shape
        std::string shape_fallback;
    };
    std::vector<Planned> planned;
    for (const GgufTensor& t : in.tensors()) {
        Planned x{&t, policy.plan(t.name, t.ne), {}, {}};
        if (!x.plan.keep) {
            std::size_t k = 0;
            for (std::string why; k < x.plan.candidates.size(); ++k) {
                if (can_store(*x.plan.candidates[k], t.rows, t.cols, why)) break;
                if (o.strict || k + 1 == x.plan.candidates.size()) {
                    fail_as(ErrorCode::bad_argument, in.source(), ": tensor '", t.name,
                            "': ", x.plan.candidates[k]->name, " cannot store it: ", why);
                }
                x.shape_fallback += concat(x.shape_fallback.empty() ? "" : "; ", x.plan.candidates[k]->name, ": ", why);
            }
            x.candidates.assign(x.plan.candidates.begin() + static_cast<std::ptrdiff_t>(k), x.plan.candidates.end());
        }
        planned.push_back(std::move(x));
    }

    // Without a quality threshold every type is known now: tensors stream into the GGUF as they
    // are done. With one, they wait in a spool until the header can be written.
    const bool known_types = !o.min_cosine;
    std::optional<GgufWriter> writer;
    const auto open_writer = [&](const std::vector<uint32_t>& types) {
        writer.emplace(o.output);
        Metadata& md = writer->metadata();
        for (const auto& [key, value] : in.metadata().entries()) {
            if (key != kLowbitFormatVersionKey) md.set(key, value);
        }
        md.erase("general.file_type");
        if (const auto ft = llama_file_type(o.type)) md.set("general.file_type", MetaValue(*ft));
        md.set("general.quantization_version", MetaValue(uint32_t{2}));
        md.set("general.quantized_by", MetaValue(std::string("lowbit ") + std::string(version())));
        for (std::size_t i = 0; i < planned.size(); ++i) {
            writer->add_tensor(planned[i].tensor->name, types[i], planned[i].tensor->ne);
        }
    };
    if (known_types && !o.dry_run) {
        std::vector<uint32_t> types;
        for (const Planned& x : planned) {
            types.push_back(x.plan.keep ? x.tensor->type_id : static_cast<uint32_t>(x.candidates.front()->id));
        }
        open_writer(types);
    }
    std::optional<Spool> spool;
    if (!known_types && !o.dry_run) spool.emplace(o.output);

    std::vector<Written> written;
    double elements = 0, out_bits = 0;
    for (const Planned& x : planned) {
        const GgufTensor& t = *x.tensor;
        const Clock::time_point t0 = Clock::now();
        TensorReport r;
        r.name = t.name;
        r.shape = t.ne;
        r.source_type = t.type->name;
        r.input_bytes = t.bytes;
        if (x.plan.keep) {
            r.kept = true;
            r.planned_type = r.type = r.source_type;
            r.output_bytes = t.bytes;
            written.push_back({&t, t.type_id, 0, t.bytes, true});
            if (writer) writer->write_tensor(t.name, in.tensor_data(t));
        } else {
            const std::string where = concat(in.source(), ": tensor '", t.name, "'");
            const EncodedTensor e = encode_tensor(where, in.weight(t), x.candidates, o, pool);
            r.planned_type = x.plan.candidates.front()->name;
            r.type = e.type->name;
            r.cosine = e.cosine;
            r.relative_mse = e.relative_mse;
            r.max_abs_error = e.max_abs_error;
            r.fallback = x.shape_fallback.empty() || e.fallback.empty() ? x.shape_fallback + e.fallback
                                                                        : x.shape_fallback + "; " + e.fallback;
            r.zeroed = e.zeroed;
            r.output_bytes = e.bytes.size();
            if (e.type != x.plan.candidates.front()) ++report.fallbacks;
            const uint64_t offset = spool ? spool->append(e.bytes) : 0;
            if (writer) writer->write_tensor(t.name, e.bytes);
            written.push_back({&t, static_cast<uint32_t>(e.type->id), offset, e.bytes.size(), false});
        }
        release_pages(in.tensor_data(t));
        r.bits_per_weight =
            t.elements() > 0 ? 8.0 * static_cast<double>(r.output_bytes) / static_cast<double>(t.elements()) : 0;
        elements += static_cast<double>(t.elements());
        out_bits += 8.0 * static_cast<double>(r.output_bytes);
        r.seconds = seconds_since(t0);
        report.tensors.push_back(std::move(r));
        ++p.tensors_done;
        p.bytes_done += t.bytes;
        p.seconds = seconds_since(start);
        p.last = &report.tensors.back();
        if (progress) progress(p);
    }
    report.bits_per_weight = elements > 0 ? out_bits / elements : 0;

    if (spool) {
        std::vector<uint32_t> types;
        for (const Written& x : written) types.push_back(x.type_id);
        open_writer(types);
        std::vector<uint8_t> buffer;
        for (const Written& x : written) {
            writer->begin_tensor(x.source->name);
            if (x.kept) {
                writer->write(in.tensor_data(*x.source));
                release_pages(in.tensor_data(*x.source));
            } else {
                for (uint64_t done = 0; done < x.bytes;) {
                    const uint64_t piece = std::min<uint64_t>(x.bytes - done, uint64_t{4} << 20);
                    buffer.resize(piece);
                    spool->read(x.spool_offset + done, buffer);
                    writer->write(buffer);
                    done += piece;
                }
            }
            writer->end_tensor();
        }
    }
    if (writer) {
        writer->finish();
        report.output_bytes = std::filesystem::file_size(o.output);
    }
    report.seconds = seconds_since(start);
    report.peak_rss_bytes = peak_rss_bytes();
    return report;
}

}  // namespace lowbit::quantize
