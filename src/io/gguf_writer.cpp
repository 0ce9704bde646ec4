// GGUF v3 writer: header and tensor infos first, then the tensors streamed in order.
#include "lowbit/gguf_writer.hpp"

#include <algorithm>
#include <cstring>

#include "atomic_output.hpp"
#include "byte_reader.hpp"
#include "lowbit/error.hpp"
#include "lowbit/gguf_reader.hpp"
#include "lowbit/gguf_types.hpp"
#include "tensor_stream.hpp"
#include "utf8.hpp"

namespace lowbit {
namespace {

constexpr uint32_t kVersion = 3;
constexpr int kMaxArrayDepth = 16;  // as the reader
constexpr uint64_t kMaxNameBytes = 65535;
constexpr uint64_t kMaxElements = uint64_t{1} << 56;

struct Declared {
    std::string name;
    uint32_t type_id = 0;
    std::vector<int64_t> ne;
    uint64_t bytes = 0;
};

void check_name(const std::string& out, std::string_view what, std::string_view s) {
    if (s.empty()) {
        fail(out, ": empty ", what);
    }
    if (s.size() > kMaxNameBytes) {
        fail(out, ": ", what, " '", s.substr(0, 64), "...' is longer than ", kMaxNameBytes, " bytes");
    }
    if (const auto bad = io::find_invalid_utf8(s)) {
        fail(out, ": ", what, " is not valid UTF-8 (byte ", *bad, ")");
    }
}

// Same rules as the reader: valid UTF-8 strings, homogeneous arrays, bounded nesting.
void check_value(const std::string& out, std::string_view key, const MetaValue& v, int depth) {
    if (const std::string* s = v.as_string()) {
        if (const auto bad = io::find_invalid_utf8(*s)) {
            fail(out, ": metadata '", key, "': string is not valid UTF-8 (byte ", *bad, ")");
        }
    } else if (const MetaArray* a = v.as_array()) {
        if (depth + 1 > kMaxArrayDepth) {
            fail(out, ": metadata '", key, "': arrays nested deeper than ", kMaxArrayDepth);
        }
        if (static_cast<uint32_t>(a->type) >= kMetaTypeCount) {
            fail(out, ": metadata '", key, "': unknown array element type ", static_cast<uint32_t>(a->type));
        }
        for (const MetaValue& item : a->items) {
            if (item.type() != a->type) {
                fail(out, ": metadata '", key, "': array of ", meta_type_name(a->type), " holds a ",
                     meta_type_name(item.type()));
            }
            check_value(out, key, item, depth + 1);
        }
    }
}

}  // namespace

struct GgufWriter::State {
    explicit State(const std::filesystem::path& path) : out(path), stream(out.name()), metadata(out.name()) {}

    io::AtomicOutput out;
    io::TensorStream stream;
    Metadata metadata;
    std::vector<Declared> tensors;
    uint32_t alignment = kGgufDefaultAlignment;
    bool header_written = false;

    void put(const void* p, std::size_t n) { out.write({static_cast<const uint8_t*>(p), n}); }
    template <typename T>
    void put_value(T v) {
        put(&v, sizeof v);
    }
    void put_string(std::string_view s) {
        put_value<uint64_t>(s.size());
        put(s.data(), s.size());
    }

    void put_meta(const MetaValue& v) {
        std::visit(
            [this](const auto& x) {
                using T = std::decay_t<decltype(x)>;
                if constexpr (std::is_same_v<T, std::string>) {
                    put_string(x);
                } else if constexpr (std::is_same_v<T, MetaArray>) {
                    put_value<uint32_t>(static_cast<uint32_t>(x.type));
                    put_value<uint64_t>(x.items.size());
                    for (const MetaValue& item : x.items) put_meta(item);
                } else if constexpr (std::is_same_v<T, bool>) {
                    put_value<uint8_t>(x ? 1 : 0);
                } else {
                    put_value<T>(x);
                }
            },
            v.storage());
    }

    void pad() {
        const uint64_t rem = out.position() % alignment;
        if (rem != 0) out.write_zeros(alignment - rem);
    }

    void resolve_alignment() {
        const MetaValue* v = metadata.find("general.alignment");
        if (v == nullptr) return;
        if (v->type() != MetaType::u32) {
            fail(out.name(), ": metadata 'general.alignment': must be uint32, is ", meta_type_name(v->type()));
        }
        alignment = std::get<uint32_t>(v->storage());
        if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
            fail(out.name(), ": metadata 'general.alignment': ", alignment, " is not a power of two");
        }
    }

    void write_header() {
        const bool uses_lowbit_types =
            std::any_of(tensors.begin(), tensors.end(), [](const Declared& t) { return t.type_id >= 1024; });
        if (uses_lowbit_types && !metadata.contains(kLowbitFormatVersionKey)) {
            metadata.set(std::string(kLowbitFormatVersionKey), kLowbitFormatVersion);
        }
        resolve_alignment();
        const std::string* arch = metadata.find("general.architecture") != nullptr
                                      ? metadata.find("general.architecture")->as_string()
                                      : nullptr;
        for (const Declared& t : tensors) {
            if (find_gguf_tensor_type(t.type_id, arch != nullptr ? *arch : "") == nullptr) {
                fail(out.name(), ": tensor '", t.name, "': type id ", t.type_id, " is not readable in a '",
                     arch != nullptr ? *arch : "", "' file (", gguf_type_id_note(t.type_id, arch ? *arch : ""), ")");
            }
        }
        for (const auto& [key, value] : metadata.entries()) {
            check_name(out.name(), "metadata key", key);
            check_value(out.name(), key, value, 0);
        }

        out.write({reinterpret_cast<const uint8_t*>("GGUF"), 4});
        put_value<uint32_t>(kVersion);
        put_value<uint64_t>(tensors.size());
        put_value<uint64_t>(metadata.size());
        for (const auto& [key, value] : metadata.entries()) {
            put_string(key);
            put_value<uint32_t>(static_cast<uint32_t>(value.type()));
            put_meta(value);
        }
        uint64_t offset = 0;
        for (const Declared& t : tensors) {
            put_string(t.name);
            put_value<uint32_t>(static_cast<uint32_t>(t.ne.size()));
            for (int64_t d : t.ne) put_value<uint64_t>(static_cast<uint64_t>(d));
            put_value<uint32_t>(t.type_id);
            put_value<uint64_t>(offset);
            if (!io::align_up(offset + t.bytes, alignment, offset)) {
                fail(out.name(), ": tensor '", t.name, "': data offset overflows");
            }
        }
        pad();
        header_written = true;
        stream.mark_started();
    }
};

GgufWriter::GgufWriter(const std::filesystem::path& path) : s_(std::make_unique<State>(path)) {}

GgufWriter::~GgufWriter() = default;

Metadata& GgufWriter::metadata() {
    if (s_->header_written) {
        fail(s_->out.name(), ": metadata changed after tensor data began");
    }
    return s_->metadata;
}

uint64_t GgufWriter::add_tensor(std::string name, uint32_t type_id, std::vector<int64_t> ne) {
    const std::string& out = s_->out.name();
    check_name(out, "tensor name", name);
    if (ne.size() > 4) {
        fail(out, ": tensor '", name, "': ", ne.size(), " dimensions (GGUF allows at most 4)");
    }
    uint64_t bound = 1;
    for (int64_t d : ne) {
        if (d < 0) {
            fail(out, ": tensor '", name, "': negative dimension ", d);
        }
        if (io::mul_overflows(bound, std::max<uint64_t>(static_cast<uint64_t>(d), 1), bound) || bound > kMaxElements) {
            fail(out, ": tensor '", name, "': more than 2^56 elements");
        }
    }
    const GgufTensorType* type = find_gguf_tensor_type(type_id);
    if (type == nullptr) {
        fail(out, ": tensor '", name, "': unknown type id ", type_id);
    }
    const int64_t cols = ne.empty() ? 1 : ne[0];
    int64_t rows = 1;
    for (std::size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
    uint64_t bytes = 0;
    try {
        bytes = type->tensor_bytes(rows, cols);
    } catch (const Error& e) {
        fail(out, ": tensor '", name, "': ", e.what());
    }
    s_->stream.declare(name, bytes);
    s_->tensors.push_back({std::move(name), type_id, std::move(ne), bytes});
    return bytes;
}

void GgufWriter::begin_tensor(std::string_view name) {
    if (!s_->header_written) {
        s_->write_header();
    }
    s_->stream.begin(name);
}

void GgufWriter::write(std::span<const uint8_t> bytes) {
    s_->stream.advance(bytes.size());
    s_->out.write(bytes);
}

uint64_t GgufWriter::reserve_tensor() {
    const uint64_t bytes = s_->stream.remaining();
    s_->stream.advance(bytes);
    return s_->out.reserve(bytes);
}

void GgufWriter::write_at(uint64_t file_offset, std::span<const uint8_t> bytes) const {
    s_->out.write_at(file_offset, bytes);
}

void GgufWriter::end_tensor() {
    s_->stream.end();
    s_->pad();
}

void GgufWriter::finish() {
    if (!s_->header_written) {
        s_->write_header();
    }
    s_->stream.check_complete();
    s_->out.finish();
}

}  // namespace lowbit
