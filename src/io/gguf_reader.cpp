// GGUF reader: parses and validates a whole file (see gguf_reader.hpp for the contract and
// docs/FILES.md for every limit and check).
#include "lowbit/gguf_reader.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <optional>
#include <sstream>

#include "byte_reader.hpp"
#include "lowbit/error.hpp"
#include "utf8.hpp"

namespace lowbit {
namespace {

using io::ByteReader;

constexpr uint32_t kMaxDims = 4;                      // ggml's GGML_MAX_DIMS
constexpr int kMaxArrayDepth = 16;                    // arrays of arrays of ...
constexpr uint64_t kMaxKeyBytes = 65535;              // the GGUF spec's key limit, also used for names
constexpr uint64_t kMaxElements = uint64_t{1} << 56;  // per tensor; keeps every size product in 64 bits
// Real tokenizers hold under a million values; a cap keeps a small hostile file from making
// the reader allocate gigabytes of values.
constexpr uint64_t kMaxMetadataValues = uint64_t{1} << 24;
// Smallest encodings, to refuse counts the remaining bytes cannot hold before allocating.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;              // empty key, value type, 1-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims, type, offset

uint64_t min_value_bytes(MetaType t) {
    switch (t) {
        case MetaType::u8:
        case MetaType::i8:
        case MetaType::boolean:
            return 1;
        case MetaType::u16:
        case MetaType::i16:
            return 2;
        case MetaType::u32:
        case MetaType::i32:
        case MetaType::f32:
            return 4;
        case MetaType::string:
        case MetaType::u64:
        case MetaType::i64:
        case MetaType::f64:
            return 8;
        case MetaType::array:
            return 4 + 8;
    }
    return 1;
}

// Where a value sits, for messages: metadata 'key'[3][0].
struct Where {
    const Where* parent = nullptr;
    std::string_view key;
    uint64_t index = 0;

    void print(std::ostream& out) const {
        if (parent == nullptr) {
            out << "metadata '" << key << "'";
        } else {
            parent->print(out);
            out << '[' << index << ']';
        }
    }
    std::string str() const {
        std::ostringstream out;
        print(out);
        return out.str();
    }
};

class Parser {
public:
    explicit Parser(const MappedFile& file) : file_(file), in_(file.bytes(), file.name()) {}

    void header(uint32_t& version, uint64_t& tensor_count, uint64_t& kv_count) {
        const auto magic = in_.take(4, [] { return std::string("magic"); });
        if (std::string_view(reinterpret_cast<const char*>(magic.data()), 4) != "GGUF") {
            std::ostringstream hex;
            for (uint8_t b : magic) hex << (hex.tellp() > 0 ? " " : "") << std::hex << static_cast<int>(b);
            fail_as(ErrorCode::bad_file, source(), ": magic: not a GGUF file (first bytes ", hex.str(), ", expected 47 47 55 46 \"GGUF\")");
        }
        version = in_.read<uint32_t>([] { return std::string("version"); });
        if (version != 2 && version != 3) {
            const uint32_t swapped = __builtin_bswap32(version);
            if (swapped == 2 || swapped == 3) {
                fail_as(ErrorCode::bad_file, source(), ": version: big-endian GGUF files are not supported");
            }
            if (version == 1) {
                fail_as(ErrorCode::bad_file, source(),
                     ": version: GGUF version 1 is not supported (it stores counts in 32 bits; "
                     "lowbit reads versions 2 and 3)");
            }
            fail_as(ErrorCode::bad_file, source(), ": version: GGUF version ", version, " is not supported (lowbit reads versions 2 and 3)");
        }
        tensor_count = in_.read<uint64_t>([] { return std::string("tensor_count"); });
        kv_count = in_.read<uint64_t>([] { return std::string("metadata_kv_count"); });
        if (kv_count > in_.remaining() / kMinKvBytes) {
            fail_as(ErrorCode::bad_file, source(), ": metadata_kv_count: ", kv_count, " key-value pairs cannot fit in the ", in_.remaining(),
                 " bytes left in the file");
        }
    }

    void metadata(uint64_t kv_count, Metadata& out) {
        for (uint64_t i = 0; i < kv_count; ++i) {
            const auto key_field = [i] { return "metadata key #" + std::to_string(i); };
            const std::string_view key = in_.string(key_field);
            check_name(key, key_field, "key");
            if (out.contains(key)) {
                fail_as(ErrorCode::bad_file, source(), ": metadata '", key, "': duplicate key");
            }
            const Where where{nullptr, key, 0};
            const uint32_t type = in_.read<uint32_t>([&] { return where.str() + ": value type"; });
            if (type >= kMetaTypeCount) {
                fail_as(ErrorCode::bad_file, source(), ": ", where.str(), ": unknown value type ", type);
            }
            out.set(std::string(key), value(static_cast<MetaType>(type), where, 0));
        }
    }

    uint32_t alignment(const Metadata& meta) const {
        const MetaValue* v = meta.find("general.alignment");
        if (v == nullptr) {
            return kGgufDefaultAlignment;
        }
        if (v->type() != MetaType::u32) {
            fail_as(ErrorCode::bad_file, source(), ": metadata 'general.alignment': expected uint32, found ", meta_type_name(v->type()));
        }
        const uint32_t a = std::get<uint32_t>(v->storage());
        if (a == 0 || (a & (a - 1)) != 0) {
            fail_as(ErrorCode::bad_file, source(), ": metadata 'general.alignment': ", a, " is not a power of two");
        }
        return a;
    }

    void tensor_infos(uint64_t count, const Metadata& meta, std::vector<GgufTensor>& out,
                      std::map<std::string, std::size_t, std::less<>>& by_name) {
        if (count > in_.remaining() / kMinTensorInfoBytes) {
            fail_as(ErrorCode::bad_file, source(), ": tensor_count: ", count, " tensor infos cannot fit in the ", in_.remaining(),
                 " bytes left in the file");
        }
        const std::string arch = architecture_of(meta);
        out.reserve(count);
        for (uint64_t i = 0; i < count; ++i) {
            GgufTensor t;
            const auto name_field = [i] { return "tensor #" + std::to_string(i) + " name"; };
            const std::string_view name = in_.string(name_field);
            check_name(name, name_field, "name");
            t.name = std::string(name);
            if (by_name.count(t.name) != 0) {
                fail_as(ErrorCode::bad_file, source(), ": tensor '", t.name, "': duplicate tensor name");
            }
            const auto field = [&t](const char* what) {
                return [&t, what] { return "tensor '" + t.name + "': " + what; };
            };
            const uint32_t n_dims = in_.read<uint32_t>(field("n_dims"));
            if (n_dims > kMaxDims) {
                fail_as(ErrorCode::bad_file, source(), ": tensor '", t.name, "': n_dims ", n_dims, " exceeds ", kMaxDims);
            }
            // Bounding the product of the non-zero dimensions bounds rows, cols and elements.
            uint64_t bound = 1;
            for (uint32_t d = 0; d < n_dims; ++d) {
                const uint64_t ne = in_.read<uint64_t>(field("dimensions"));
                if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                    fail_as(ErrorCode::bad_file, source(), ": tensor '", t.name, "': dimension ", d, " is ", ne, " (more than 2^63 - 1)");
                }
                if (io::mul_overflows(bound, std::max<uint64_t>(ne, 1), bound) || bound > kMaxElements) {
                    fail_as(ErrorCode::bad_file, source(), ": tensor '", t.name, "': shape ", shape_text(t.ne, ne),
                         " has more than 2^56 elements");
                }
                t.ne.push_back(static_cast<int64_t>(ne));
            }
            t.type_id = in_.read<uint32_t>(field("type"));
            t.type = find_gguf_tensor_type(t.type_id, arch);
            if (t.type == nullptr) {
                const std::string_view note = gguf_type_id_note(t.type_id, arch);
                fail_as(ErrorCode::bad_file, source(), ": tensor '", t.name, "': unknown type id ", t.type_id, note.empty() ? "" : " (", note,
                     note.empty() ? "" : ")");
            }
            t.offset = in_.read<uint64_t>(field("offset"));
            t.cols = n_dims == 0 ? 1 : t.ne[0];
            t.rows = 1;
            for (uint32_t d = 1; d < n_dims; ++d) t.rows *= t.ne[d];  // bounded above: no overflow
            by_name.emplace(t.name, out.size());
            out.push_back(std::move(t));
        }
    }

    uint64_t position() const { return in_.pos(); }

    const std::string& source() const { return file_.name(); }

private:
    template <typename Field>
    void check_name(std::string_view s, const Field& field, const char* what) const {
        if (s.empty()) {
            fail_as(ErrorCode::bad_file, source(), ": ", field(), ": empty ", what);
        }
        if (s.size() > kMaxKeyBytes) {
            fail_as(ErrorCode::bad_file, source(), ": ", field(), ": ", what, " of ", s.size(), " bytes (at most ", kMaxKeyBytes, ")");
        }
        if (const auto bad = io::find_invalid_utf8(s)) {
            fail_as(ErrorCode::bad_file, source(), ": ", field(), ": ", what, " is not valid UTF-8 (byte ", *bad, ")");
        }
    }

    MetaValue value(MetaType type, const Where& where, int depth) {
        const auto field = [&where] { return where.str(); };
        if (++values_ > kMaxMetadataValues) {
            fail_as(ErrorCode::bad_file, source(), ": ", where.str(), ": more than 2^24 metadata values in the file");
        }
        switch (type) {
            case MetaType::u8:
                return in_.read<uint8_t>(field);
            case MetaType::i8:
                return in_.read<int8_t>(field);
            case MetaType::u16:
                return in_.read<uint16_t>(field);
            case MetaType::i16:
                return in_.read<int16_t>(field);
            case MetaType::u32:
                return in_.read<uint32_t>(field);
            case MetaType::i32:
                return in_.read<int32_t>(field);
            case MetaType::f32:
                return in_.read<float>(field);
            case MetaType::u64:
                return in_.read<uint64_t>(field);
            case MetaType::i64:
                return in_.read<int64_t>(field);
            case MetaType::f64:
                return in_.read<double>(field);
            case MetaType::boolean: {
                const uint8_t b = in_.read<uint8_t>(field);
                if (b > 1) {
                    fail_as(ErrorCode::bad_file, source(), ": ", where.str(), ": bool value ", static_cast<int>(b), " is not 0 or 1");
                }
                return b == 1;
            }
            case MetaType::string: {
                const std::string_view s = in_.string(field);
                if (const auto bad = io::find_invalid_utf8(s)) {
                    fail_as(ErrorCode::bad_file, source(), ": ", where.str(), ": string is not valid UTF-8 (byte ", *bad, ")");
                }
                return std::string(s);
            }
            case MetaType::array:
                return array(where, depth);
        }
        fail_as(ErrorCode::bad_file, source(), ": ", where.str(), ": unknown value type ", static_cast<uint32_t>(type));
    }

    MetaValue array(const Where& where, int depth) {
        if (depth + 1 > kMaxArrayDepth) {
            fail_as(ErrorCode::bad_file, source(), ": ", where.str(), ": arrays nested deeper than ", kMaxArrayDepth);
        }
        const uint32_t type = in_.read<uint32_t>([&] { return where.str() + ": array element type"; });
        if (type >= kMetaTypeCount) {
            fail_as(ErrorCode::bad_file, source(), ": ", where.str(), ": unknown array element type ", type);
        }
        MetaArray a;
        a.type = static_cast<MetaType>(type);
        const uint64_t count = in_.read<uint64_t>([&] { return where.str() + ": array length"; });
        if (count > in_.remaining() / min_value_bytes(a.type)) {
            fail_as(ErrorCode::bad_file, source(), ": ", where.str(), ": array of ", count, " ", meta_type_name(a.type),
                 " values cannot fit in the ", in_.remaining(), " bytes left in the file");
        }
        if (count > kMaxMetadataValues - values_) {
            fail_as(ErrorCode::bad_file, source(), ": ", where.str(), ": array of ", count,
                 " values: more than 2^24 metadata values in the file");
        }
        a.items.reserve(count);
        for (uint64_t i = 0; i < count; ++i) {
            a.items.push_back(value(a.type, Where{&where, {}, i}, depth + 1));
        }
        return MetaValue(std::move(a));
    }

    static std::string architecture_of(const Metadata& meta) {
        const MetaValue* v = meta.find("general.architecture");
        const std::string* s = v != nullptr ? v->as_string() : nullptr;
        return s != nullptr ? *s : std::string();
    }

    static std::string shape_text(const std::vector<int64_t>& ne, uint64_t next) {
        std::ostringstream out;
        for (int64_t d : ne) out << d << " x ";
        out << next << " x ...";
        return out.str();
    }

    const MappedFile& file_;
    ByteReader in_;
    uint64_t values_ = 0;
};

std::string range_text(uint64_t begin, uint64_t end) {
    std::ostringstream out;
    out << '[' << begin << ", " << end << ')';
    return out.str();
}

}  // namespace

GgufFile::GgufFile(std::shared_ptr<const MappedFile> file)
    : file_(std::move(file)), splits_{file_}, metadata_(file_->name()) {}

GgufFile GgufFile::open(const std::filesystem::path& path) {
    GgufFile g = parse(MappedFile::open(path));
    if (g.metadata_.find(kSplitCountKey) != nullptr) g.join_splits(path);
    return g;
}

namespace {

uint64_t split_key(const Metadata& md, const std::string& file, std::string_view key) {
    const MetaValue* v = md.find(key);
    const std::optional<uint64_t> n = v != nullptr ? v->to_uint() : std::nullopt;
    if (!n) fail_as(ErrorCode::bad_file, file, ": split set: metadata '", key, "' is missing or not an unsigned integer");
    return *n;
}

std::string split_suffix(uint64_t no, uint64_t count) { return gguf_split_path("", no, count); }

}  // namespace

std::string gguf_split_path(std::string_view prefix, uint64_t no, uint64_t count) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "-%05llu-of-%05llu.gguf", static_cast<unsigned long long>(no + 1),
                  static_cast<unsigned long long>(count));
    return std::string(prefix) + buf;
}

void GgufFile::join_splits(const std::filesystem::path& first) {
    const std::string& src = file_->name();
    const uint64_t count = split_key(metadata_, src, kSplitCountKey);
    if (count <= 1) return;  // a set of one is a plain file
    if (count > 99999) fail_as(ErrorCode::bad_file, src, ": split set: split.count ", count, " is out of range");
    const uint64_t no = split_key(metadata_, src, kSplitNoKey);
    const std::string name = first.string();
    const std::string own = split_suffix(no, count);
    if (name.size() <= own.size() || name.compare(name.size() - own.size(), own.size(), own) != 0) {
        fail_as(ErrorCode::bad_file, src, ": split set: file ", no + 1, " of ", count, " must be named PREFIX", own);
    }
    const std::string prefix = name.substr(0, name.size() - own.size());
    if (no != 0) {
        fail_as(ErrorCode::bad_file, src, ": file ", no + 1, " of a split set of ", count, ": open the first, ", prefix,
                split_suffix(0, count));
    }
    for (uint64_t i = 1; i < count; ++i) {
        const std::string path = prefix + split_suffix(i, count);
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
            fail_as(ErrorCode::io, src, ": split set of ", count, ": file ", i + 1, " (", path, ") is missing");
        }
        GgufFile part = parse(MappedFile::open(path));
        const uint64_t part_no = split_key(part.metadata_, path, kSplitNoKey);
        if (part_no != i) fail_as(ErrorCode::bad_file, path, ": split.no is ", part_no, ", expected ", i, " (its name)");
        for (GgufTensor& t : part.tensors_) {
            if (by_name_.count(t.name) != 0) {
                fail_as(ErrorCode::bad_file, path, ": tensor '", t.name, "' is also in an earlier file of the split set");
            }
            t.split = static_cast<uint32_t>(splits_.size());
            by_name_.emplace(t.name, tensors_.size());
            tensors_.push_back(std::move(t));
        }
        splits_.push_back(part.file_);
    }
    const uint64_t total = split_key(metadata_, src, kSplitTensorsCountKey);
    if (total != tensors_.size()) {
        fail_as(ErrorCode::bad_file, src, ": split set: split.tensors.count is ", total, " but its ", count, " files hold ",
                tensors_.size(), " tensors");
    }
}

uint64_t GgufFile::file_size() const {
    uint64_t n = 0;
    for (const auto& f : splits_) n += f->size();
    return n;
}

std::vector<std::string> GgufFile::split_sources() const {
    std::vector<std::string> names;
    for (const auto& f : splits_) names.push_back(f->name());
    return names;
}

GgufFile GgufFile::parse(std::shared_ptr<const MappedFile> file) {
    GgufFile g(std::move(file));
    const std::string& src = g.file_->name();
    Parser p(*g.file_);
    uint64_t tensor_count = 0, kv_count = 0;
    p.header(g.version_, tensor_count, kv_count);
    p.metadata(kv_count, g.metadata_);
    g.alignment_ = p.alignment(g.metadata_);
    p.tensor_infos(tensor_count, g.metadata_, g.tensors_, g.by_name_);
    if (!io::align_up(p.position(), g.alignment_, g.data_offset_)) {
        fail_as(ErrorCode::bad_file, src, ": data section: offset overflows");
    }

    const uint64_t file_size = g.file_->size();
    for (GgufTensor& t : g.tensors_) {
        if (t.type_id >= 1024) {
            const MetaValue* v = g.metadata_.find(kLowbitFormatVersionKey);
            if (v == nullptr) {
                fail_as(ErrorCode::bad_file, src, ": tensor '", t.name, "': lowbit type ", t.type->name, " (id ", t.type_id,
                     ") needs metadata '", kLowbitFormatVersionKey, "', which the file lacks");
            }
            const uint64_t version = g.metadata_.get_uint(kLowbitFormatVersionKey);
            if (version == 0 || version > kLowbitFormatVersion) {
                fail_as(ErrorCode::bad_file, src, ": metadata '", kLowbitFormatVersionKey, "': version ", version,
                     " is not one this build reads (1 to ", kLowbitFormatVersion, ")");
            }
        }
        try {
            t.bytes = t.type->tensor_bytes(t.rows, t.cols);
        } catch (const Error& e) {
            fail_as(ErrorCode::bad_file, src, ": tensor '", t.name, "': ", e.what());
        }
        if (t.offset % g.alignment_ != 0) {
            fail_as(ErrorCode::bad_file, src, ": tensor '", t.name, "': offset ", t.offset, " is not a multiple of the alignment ",
                 g.alignment_);
        }
        uint64_t end = 0;
        if (io::add_overflows(g.data_offset_, t.offset, t.file_offset) ||
            io::add_overflows(t.file_offset, t.bytes, end)) {
            fail_as(ErrorCode::bad_file, src, ": tensor '", t.name, "': offset ", t.offset, " + ", t.bytes, " bytes overflows");
        }
        if (end > file_size) {
            fail_as(ErrorCode::bad_file, src, ": tensor '", t.name, "': data ", range_text(t.file_offset, end),
                 " extends past the end of the file (", file_size, " bytes)");
        }
    }

    // Overlaps: in offset order, each tensor must start at or after the end of the previous one.
    std::vector<const GgufTensor*> order;
    for (const GgufTensor& t : g.tensors_) {
        if (t.bytes > 0) order.push_back(&t);
    }
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->file_offset < b->file_offset; });
    for (std::size_t i = 1; i < order.size(); ++i) {
        const GgufTensor& a = *order[i - 1];
        const GgufTensor& b = *order[i];
        if (b.file_offset < a.file_offset + a.bytes) {
            fail_as(ErrorCode::bad_file, src, ": tensor '", b.name, "': data ", range_text(b.file_offset, b.file_offset + b.bytes),
                 " overlaps tensor '", a.name, "' ", range_text(a.file_offset, a.file_offset + a.bytes));
        }
    }
    return g;
}

std::string_view GgufFile::architecture() const {
    const MetaValue* v = metadata_.find("general.architecture");
    const std::string* s = v != nullptr ? v->as_string() : nullptr;
    return s != nullptr ? std::string_view(*s) : std::string_view();
}

const GgufTensor* GgufFile::find_tensor(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensor& GgufFile::tensor(std::string_view name) const {
    if (const GgufTensor* t = find_tensor(name)) {
        return *t;
    }
    fail_as(ErrorCode::bad_file, source(), ": tensor '", name, "' not found");
}

std::span<const uint8_t> GgufFile::tensor_data(const GgufTensor& t) const {
    return splits_[t.split]->bytes().subspan(t.file_offset, t.bytes);
}

TensorWeight GgufFile::weight(const GgufTensor& t) const {
    if (!t.type->computable()) {
        fail_as(ErrorCode::unsupported, source(), ": tensor '", t.name, "': type ", t.type->name, " (id ", t.type_id,
             ") is listed but lowbit cannot compute with it");
    }
    return {t.type->weight_type, WeightView{tensor_data(t).data(), t.rows, t.cols}};
}

}  // namespace lowbit
