// SafeTensors reader: header length, strict JSON header, exact tiling of the data section.
#include <algorithm>
#include <sstream>

#include "byte_reader.hpp"
#include "json_strict.hpp"
#include "lowbit/error.hpp"
#include "lowbit/safetensors.hpp"

namespace lowbit {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxElements = uint64_t{1} << 56;  // as GGUF: every size product fits in 64 bits

struct DtypeRow {
    SafeDtype dtype;
    std::string_view name;
    uint64_t bytes;
};

constexpr DtypeRow kDtypes[] = {
    {SafeDtype::BOOL, "BOOL", 1}, {SafeDtype::U8, "U8", 1},           {SafeDtype::I8, "I8", 1},
    {SafeDtype::U16, "U16", 2},   {SafeDtype::I16, "I16", 2},         {SafeDtype::F16, "F16", 2},
    {SafeDtype::BF16, "BF16", 2}, {SafeDtype::U32, "U32", 4},         {SafeDtype::I32, "I32", 4},
    {SafeDtype::F32, "F32", 4},   {SafeDtype::U64, "U64", 8},         {SafeDtype::I64, "I64", 8},
    {SafeDtype::F64, "F64", 8},   {SafeDtype::F8_E4M3, "F8_E4M3", 1}, {SafeDtype::F8_E5M2, "F8_E5M2", 1},
};

std::string range_text(uint64_t begin, uint64_t end) {
    std::ostringstream out;
    out << '[' << begin << ", " << end << ')';
    return out.str();
}

std::string shape_text(const std::vector<int64_t>& shape) {
    std::ostringstream out;
    out << '[';
    for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    out << ']';
    return out.str();
}

class HeaderParser {
public:
    HeaderParser(const std::string& source, uint64_t data_bytes, uint64_t data_offset)
        : source_(source), data_bytes_(data_bytes), data_offset_(data_offset) {}

    void metadata(const json& value, std::map<std::string, std::string, std::less<>>& out) const {
        if (!value.is_object()) {
            fail_as(ErrorCode::bad_file, source_, ": header: '__metadata__': expected an object of strings, found ", io::json_kind(value));
        }
        for (const auto& [key, v] : value.items()) {
            if (!v.is_string()) {
                fail_as(ErrorCode::bad_file, source_, ": header: '__metadata__' key '", key, "': expected a string, found ", io::json_kind(v));
            }
            out.emplace(key, v.get<std::string>());
        }
    }

    SafeTensor tensor(const std::string& name, const json& entry) const {
        if (name.empty()) {
            fail_as(ErrorCode::bad_file, source_, ": header: empty tensor name");
        }
        if (!entry.is_object()) {
            fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': expected an object, found ", io::json_kind(entry));
        }
        SafeTensor t;
        t.name = name;
        const json& dtype = field(name, entry, "dtype");
        if (!dtype.is_string()) {
            fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': 'dtype' must be a string, found ", io::json_kind(dtype));
        }
        const auto parsed = parse_safe_dtype(dtype.get_ref<const std::string&>());
        if (!parsed) {
            fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': unknown dtype '", dtype.get_ref<const std::string&>(), "'");
        }
        t.dtype = *parsed;

        const json& shape = field(name, entry, "shape");
        if (!shape.is_array()) {
            fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': 'shape' must be an array, found ", io::json_kind(shape));
        }
        uint64_t bound = 1;  // product of the non-zero dimensions: bounds rows, cols and elements
        for (const json& d : shape) {
            if (!d.is_number_unsigned()) {
                fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': 'shape' holds a ", io::json_kind(d),
                     " (dimensions are non-negative integers)");
            }
            const uint64_t v = d.get<uint64_t>();
            if (io::mul_overflows(bound, std::max<uint64_t>(v, 1), bound) || bound > kMaxElements) {
                fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': shape has more than 2^56 elements");
            }
            t.shape.push_back(static_cast<int64_t>(v));
        }
        t.cols = t.shape.empty() ? 1 : t.shape.back();
        t.rows = 1;
        for (std::size_t i = 0; i + 1 < t.shape.size(); ++i) t.rows *= t.shape[i];

        const json& offsets = field(name, entry, "data_offsets");
        if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
            !offsets[1].is_number_unsigned()) {
            fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': 'data_offsets' must be [begin, end] (two non-negative integers)");
        }
        t.begin = offsets[0].get<uint64_t>();
        t.end = offsets[1].get<uint64_t>();
        if (t.begin > t.end) {
            fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': data_offsets ", range_text(t.begin, t.end), " are reversed");
        }
        if (t.end > data_bytes_) {
            fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': data_offsets ", range_text(t.begin, t.end),
                 " extend past the end of the data section (", data_bytes_, " bytes)");
        }
        // elements <= 2^56 and dtype bytes <= 8: the product fits.
        t.bytes = static_cast<uint64_t>(t.rows) * static_cast<uint64_t>(t.cols) * safe_dtype_bytes(t.dtype);
        if (t.end - t.begin != t.bytes) {
            fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': data_offsets ", range_text(t.begin, t.end), " hold ", t.end - t.begin,
                 " bytes but ", safe_dtype_name(t.dtype), " ", shape_text(t.shape), " needs ", t.bytes);
        }
        t.file_offset = data_offset_ + t.begin;
        return t;
    }

    // Sorted by offset, the tensors must cover [0, data_bytes) exactly.
    void check_tiling(std::vector<SafeTensor>& tensors) const {
        std::stable_sort(tensors.begin(), tensors.end(), [](const SafeTensor& a, const SafeTensor& b) {
            return a.begin < b.begin || (a.begin == b.begin && a.end < b.end);
        });
        uint64_t expected = 0;
        const SafeTensor* previous = nullptr;
        for (const SafeTensor& t : tensors) {
            if (t.begin < expected) {
                fail_as(ErrorCode::bad_file, source_, ": tensor '", t.name, "': data_offsets ", range_text(t.begin, t.end), " overlap tensor '",
                     previous->name, "' ", range_text(previous->begin, previous->end));
            }
            if (t.begin > expected) {
                fail_as(ErrorCode::bad_file, source_, ": tensor '", t.name, "': data_offsets ", range_text(t.begin, t.end), " leave bytes ",
                     range_text(expected, t.begin), " of the data section unused");
            }
            expected = t.end;
            previous = &t;
        }
        if (expected != data_bytes_) {
            fail_as(ErrorCode::bad_file, source_, ": data section: bytes ", range_text(expected, data_bytes_),
                 " belong to no tensor (the file must end where the last tensor does)");
        }
    }

private:
    const json& field(const std::string& name, const json& entry, const char* key) const {
        const auto it = entry.find(key);
        if (it == entry.end()) {
            fail_as(ErrorCode::bad_file, source_, ": tensor '", name, "': missing '", key, "'");
        }
        return *it;
    }

    const std::string& source_;
    uint64_t data_bytes_;
    uint64_t data_offset_;
};

}  // namespace

std::string_view safe_dtype_name(SafeDtype dtype) {
    for (const DtypeRow& r : kDtypes) {
        if (r.dtype == dtype) return r.name;
    }
    return "?";
}

std::optional<SafeDtype> parse_safe_dtype(std::string_view name) {
    for (const DtypeRow& r : kDtypes) {
        if (r.name == name) return r.dtype;
    }
    return std::nullopt;
}

uint64_t safe_dtype_bytes(SafeDtype dtype) {
    for (const DtypeRow& r : kDtypes) {
        if (r.dtype == dtype) return r.bytes;
    }
    return 1;
}

const WeightType* safe_dtype_weight_type(SafeDtype dtype) {
    switch (dtype) {
        case SafeDtype::F32:
            return find_weight_type(TypeId::F32);
        case SafeDtype::F16:
            return find_weight_type(TypeId::F16);
        case SafeDtype::BF16:
            return find_weight_type(TypeId::BF16);
        default:
            return nullptr;
    }
}

SafeTensorsFile SafeTensorsFile::open(const std::filesystem::path& path) { return parse(MappedFile::open(path)); }

SafeTensorsFile SafeTensorsFile::parse(std::shared_ptr<const MappedFile> file) {
    SafeTensorsFile s(std::move(file));
    const std::string& src = s.file_->name();
    io::ByteReader in(s.file_->bytes(), src);
    s.header_bytes_ = in.read<uint64_t>([] { return std::string("header length"); });
    if (s.header_bytes_ > kSafeTensorsMaxHeaderBytes) {
        fail_as(ErrorCode::bad_file, src, ": header length: ", s.header_bytes_, " bytes exceeds the limit of ", kSafeTensorsMaxHeaderBytes);
    }
    if (s.header_bytes_ > in.remaining()) {
        fail_as(ErrorCode::bad_file, src, ": header length: ", s.header_bytes_, " bytes exceeds the ", in.remaining(),
             " bytes left in the file");
    }
    const auto header = in.take(s.header_bytes_, [] { return std::string("header"); });
    const std::string_view text(reinterpret_cast<const char*>(header.data()), header.size());
    if (text.empty() || text.front() != '{') {
        fail_as(ErrorCode::bad_file, src, ": header: must be a JSON object starting with '{'");
    }
    const json j = io::parse_json_strict(text, src, "header");
    if (!j.is_object()) {
        fail_as(ErrorCode::bad_file, src, ": header: expected a JSON object, found ", io::json_kind(j));
    }
    const HeaderParser p(src, in.remaining(), s.data_offset());
    for (const auto& [key, value] : j.items()) {
        if (key == "__metadata__") {
            p.metadata(value, s.metadata_);
        } else {
            s.tensors_.push_back(p.tensor(key, value));
        }
    }
    p.check_tiling(s.tensors_);
    for (std::size_t i = 0; i < s.tensors_.size(); ++i) s.by_name_.emplace(s.tensors_[i].name, i);
    return s;
}

const SafeTensor* SafeTensorsFile::find_tensor(std::string_view name) const {
    const auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const SafeTensor& SafeTensorsFile::tensor(std::string_view name) const {
    if (const SafeTensor* t = find_tensor(name)) return *t;
    fail_as(ErrorCode::bad_file, source(), ": tensor '", name, "' not found");
}

std::span<const uint8_t> SafeTensorsFile::tensor_data(const SafeTensor& t) const {
    return file_->bytes().subspan(t.file_offset, t.bytes);
}

TensorWeight SafeTensorsFile::weight(const SafeTensor& t) const {
    const WeightType* type = safe_dtype_weight_type(t.dtype);
    if (type == nullptr) {
        fail_as(ErrorCode::unsupported, source(), ": tensor '", t.name, "': dtype ", safe_dtype_name(t.dtype),
             " is listed but lowbit cannot compute with it");
    }
    return {type, WeightView{tensor_data(t).data(), t.rows, t.cols}};
}

}  // namespace lowbit
