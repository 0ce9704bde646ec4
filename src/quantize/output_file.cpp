#include "output_file.hpp"

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "lowbit/error.hpp"
#include "lowbit/gguf_reader.hpp"
#include "lowbit/gguf_writer.hpp"
#include "lowbit/safetensors_writer.hpp"
#include "lowbit/version.hpp"

namespace lowbit::quantize {
namespace {

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

// The source's metadata as the output carries it (a split set's own keys left out).
void copy_gguf_metadata(Metadata& md, const TensorSource& source, TypeId file_type_of) {
    for (const auto& [key, value] : source.metadata().entries()) {
        if (key != kLowbitFormatVersionKey && key != kSplitNoKey && key != kSplitCountKey && key != kSplitTensorsCountKey) {
            md.set(key, value);
        }
    }
    md.erase("general.file_type");
    if (const auto ft = llama_file_type(file_type_of)) md.set("general.file_type", MetaValue(*ft));
    md.set("general.quantization_version", MetaValue(uint32_t{2}));
    md.set("general.quantized_by", MetaValue(std::string("lowbit ") + std::string(version())));
}

struct GgufTensorDecl {
    uint32_t type_id;
    std::vector<int64_t> ne;
};

GgufTensorDecl gguf_decl(const SourceTensor& t, const WeightType* type) {
    if (type == nullptr && t.weight.type == nullptr && !t.from_gguf) {
        fail_as(ErrorCode::unsupported, t.where(), ": dtype ", t.type_name,
                " has no GGUF type lowbit writes (F32, F16 and BF16 do)");
    }
    // a quantized tensor of rank > 2 is stored as the matrix it was quantized as
    const bool as_matrix = type != nullptr && t.ne.size() > 2;
    return {type != nullptr ? static_cast<uint32_t>(type->id) : t.gguf_type_id,
            as_matrix ? std::vector<int64_t>{t.cols, t.rows} : t.ne};
}

class GgufOutput final : public OutputFile {
public:
    GgufOutput(const std::filesystem::path& path, const TensorSource& source, TypeId file_type_of)
        : w_(path), path_(path) {
        copy_gguf_metadata(w_.metadata(), source, file_type_of);
    }
    void declare(const SourceTensor& t, const WeightType* type) override {
        GgufTensorDecl d = gguf_decl(t, type);
        w_.add_tensor(t.name, d.type_id, std::move(d.ne));
    }
    void begin_tensor(const SourceTensor& t) override { w_.begin_tensor(t.name); }
    void write(std::span<const uint8_t> bytes) override { w_.write(bytes); }
    void end_tensor() override { w_.end_tensor(); }
    uint64_t reserve_tensor(const SourceTensor& t) override {
        w_.begin_tensor(t.name);
        return w_.reserve_tensor();
    }
    void write_at(uint64_t file_offset, std::span<const uint8_t> bytes) const override {
        w_.write_at(file_offset, bytes);
    }
    void finish() override { w_.finish(); }
    void set_metadata(const std::string& key, const std::string& value) override {
        w_.metadata().set(key, MetaValue(value));
    }
    std::vector<std::filesystem::path> files() const override { return {path_}; }

private:
    GgufWriter w_;
    std::filesystem::path path_;
};

// A split set in llama.cpp's convention: PREFIX-0000i-of-0000N.gguf, the tensors in declaration
// order cut into N contiguous runs of about equal bytes (none empty), the model's metadata in
// the first file, split.no / split.count / split.tensors.count in every one. The files are
// opened when the first tensor is written (the cut needs every declaration) and renamed into
// place one after another by finish(); if one fails, the ones already renamed are removed.
class GgufSplitOutput final : public OutputFile {
public:
    GgufSplitOutput(const std::filesystem::path& path, const TensorSource& source, TypeId file_type_of, int count)
        : count_(count) {
        copy_gguf_metadata(metadata_, source, file_type_of);
        metadata_.erase("general.alignment");  // every file of a set is laid out at GGUF's default, as gguf-split does
        std::string prefix = path.string();
        if (prefix.size() > 5 && prefix.compare(prefix.size() - 5, 5, ".gguf") == 0) prefix.resize(prefix.size() - 5);
        for (int i = 0; i < count; ++i) paths_.push_back(gguf_split_path(prefix, i, count));
    }
    ~GgufSplitOutput() override {
        if (!finished_) {
            for (const std::filesystem::path& p : renamed_) {
                std::error_code ec;
                std::filesystem::remove(p, ec);
            }
        }
    }
    void declare(const SourceTensor& t, const WeightType* type) override {
        const uint64_t bytes = type != nullptr ? type->tensor_bytes(t.rows, t.cols) : t.data.size();
        decls_.push_back({t.name, gguf_decl(t, type), bytes});
    }
    void begin_tensor(const SourceTensor& t) override { writer_for(t).begin_tensor(t.name); }
    void write(std::span<const uint8_t> bytes) override { writers_[current_]->write(bytes); }
    void end_tensor() override { writers_[current_]->end_tensor(); }
    uint64_t reserve_tensor(const SourceTensor& t) override {
        GgufWriter& w = writer_for(t);
        w.begin_tensor(t.name);
        return w.reserve_tensor();
    }
    // the tensor in flight is the one reserve_tensor() set aside
    void write_at(uint64_t file_offset, std::span<const uint8_t> bytes) const override {
        writers_[current_]->write_at(file_offset, bytes);
    }
    void finish() override {
        open_files();
        for (std::size_t i = 0; i < writers_.size(); ++i) {
            writers_[i]->finish();
            renamed_.push_back(paths_[i]);
        }
        finished_ = true;
    }
    void set_metadata(const std::string& key, const std::string& value) override { metadata_.set(key, MetaValue(value)); }
    std::vector<std::filesystem::path> files() const override { return paths_; }

private:
    struct Decl {
        std::string name;
        GgufTensorDecl gguf;
        uint64_t bytes;
    };

    GgufWriter& writer_for(const SourceTensor& t) {
        open_files();
        const auto it = split_of_.find(t.name);
        if (it == split_of_.end()) fail("split output: tensor '", t.name, "' was not declared");
        current_ = it->second;
        return *writers_[current_];
    }

    void open_files() {
        if (!writers_.empty()) return;
        const std::size_t n = decls_.size(), files = static_cast<std::size_t>(count_);
        if (n < files) {
            fail_as(ErrorCode::bad_argument, "--shards ", count_, ": the model has only ", n,
                    " tensors, and no file of a split set may be empty");
        }
        uint64_t total = 0;
        for (const Decl& d : decls_) total += d.bytes;
        // file k starts at the first tensor that begins at or past k/N of the bytes, at least one tensor each
        std::vector<std::size_t> start(files + 1, n);
        start[0] = 0;
        uint64_t before = 0;
        std::size_t k = 1;
        for (std::size_t i = 0; i < n && k < files; ++i) {
            const bool past = static_cast<long double>(before) * files >= static_cast<long double>(total) * k;
            if (i > start[k - 1] && (past || n - i == files - k)) start[k++] = i;
            before += decls_[i].bytes;
        }
        for (std::size_t f = 0; f < files; ++f) {
            auto w = std::make_unique<GgufWriter>(paths_[f]);
            Metadata& md = w->metadata();
            if (f == 0) md = metadata_;
            md.set(std::string(kSplitNoKey), MetaValue(static_cast<uint16_t>(f)));
            md.set(std::string(kSplitCountKey), MetaValue(static_cast<uint16_t>(count_)));
            md.set(std::string(kSplitTensorsCountKey), MetaValue(static_cast<int32_t>(n)));
            for (std::size_t i = start[f]; i < start[f + 1]; ++i) {
                w->add_tensor(decls_[i].name, decls_[i].gguf.type_id, decls_[i].gguf.ne);
                split_of_[decls_[i].name] = f;
            }
            writers_.push_back(std::move(w));
        }
    }

    int count_;
    Metadata metadata_;
    std::vector<std::filesystem::path> paths_;
    std::vector<Decl> decls_;
    std::vector<std::unique_ptr<GgufWriter>> writers_;
    std::map<std::string, std::size_t, std::less<>> split_of_;
    std::size_t current_ = 0;
    std::vector<std::filesystem::path> renamed_;
    bool finished_ = false;
};

SafeDtype safe_dtype_of(const WeightType& t) {
    switch (t.id) {
        case TypeId::F32:
            return SafeDtype::F32;
        case TypeId::F16:
            return SafeDtype::F16;
        default:
            return SafeDtype::BF16;
    }
}

bool is_float(const WeightType* t) {
    return t != nullptr && (t->id == TypeId::F32 || t->id == TypeId::F16 || t->id == TypeId::BF16);
}

std::vector<int64_t> torch_shape(const std::vector<int64_t>& ne) { return {ne.rbegin(), ne.rend()}; }

// Each tensor as one or more SafeTensors entries, written back to back: the bytes of a
// quantized tensor run through its parts in order (the INTn sections are codes, scales, zeros).
class SafeTensorsOutput final : public OutputFile {
public:
    SafeTensorsOutput(const std::filesystem::path& path, const TensorSource& source) : w_(path), path_(path) {
        for (const auto& [key, value] : source.string_metadata()) {
            if (key != "quantization_config") w_.set_metadata(key, value);
        }
        config_ = {{"quant_method", "lowbit"},
                   {"format_version", 1},
                   {"quantized_by", std::string("lowbit ") + std::string(version())},
                   {"tensors", nlohmann::json::object()}};
    }

    void declare(const SourceTensor& t, const WeightType* type) override {
        const WeightType* stored = type != nullptr ? type : t.weight.type;
        nlohmann::json d;
        std::vector<Part> parts;
        if (type == nullptr && stored == nullptr) {
            const std::optional<SafeDtype> dtype = parse_safe_dtype(t.type_name);
            if (!dtype || t.from_gguf) {
                fail_as(ErrorCode::unsupported, t.where(), ": type ", t.type_name,
                        " is not one lowbit decodes, so it cannot be stored in a SafeTensors file");
            }
            parts.push_back({t.name, *dtype, torch_shape(t.ne)});  // a SafeTensors source's own dtype
            d = {{"type", t.type_name}, {"stored", "as is"}};
        } else if (is_float(stored)) {
            parts.push_back({t.name, safe_dtype_of(*stored), torch_shape(t.ne)});
            d = {{"type", std::string(stored->name)}};
            if (type == nullptr) d["stored"] = "as is";
        } else {
            d = {{"type", std::string(stored->name)},
                 {"bits_per_weight", stored->bits_per_weight},
                 {"shape", {t.rows, t.cols}},
                 {"layout", std::string(stored->layout)}};
            if (t.ne.size() > 2) d["tensor_shape"] = torch_shape(t.ne);  // a convolution's, as the source had it
            if (type == nullptr) d["stored"] = "as is";
            std::array<std::size_t, kMaxRowSections> per_row{};
            const std::size_t sections = stored->row_sections ? stored->row_sections(t.cols, per_row.data()) : 0;
            if (is_int_group_type(stored->id)) {
                const IntGroupParams p = int_group_params(stored->id);
                const bool asym = p.asymmetric;
                d["bits"] = p.bits;
                d["group_size"] = p.group;
                d["symmetric"] = !asym;
                parts.push_back({t.name + ".qweight", SafeDtype::U8, {t.rows, static_cast<int64_t>(per_row[0])}});
                parts.push_back({t.name + ".scales", SafeDtype::F16, {t.rows, static_cast<int64_t>(per_row[1] / 2)}});
                d["qweight"] = t.name + ".qweight";
                d["scales"] = t.name + ".scales";
                if (asym) {
                    parts.push_back({t.name + ".zeros", SafeDtype::U8, {t.rows, static_cast<int64_t>(per_row[2])}});
                    d["zeros"] = t.name + ".zeros";
                }
            } else {
                // the format's own blocks (scales inside them), row by row where rows are byte ranges
                const std::size_t bytes = stored->tensor_bytes(t.rows, t.cols);
                parts.push_back({t.name + ".qweight", SafeDtype::U8,
                                 sections == 1 ? std::vector<int64_t>{t.rows, static_cast<int64_t>(per_row[0])}
                                               : std::vector<int64_t>{static_cast<int64_t>(bytes)}});
                d["qweight"] = t.name + ".qweight";
            }
        }
        for (Part& p : parts) p.bytes = w_.add_tensor(p.name, p.dtype, p.shape);
        config_["tensors"][t.name] = std::move(d);
        tensors_.push_back(std::move(parts));
    }

    void begin_tensor(const SourceTensor&) override {
        if (!header_done_) {
            w_.set_metadata("quantization_config", config_.dump());
            header_done_ = true;
        }
        part_ = 0;
        left_ = 0;
    }
    uint64_t reserve_tensor(const SourceTensor& t) override {
        begin_tensor(t);
        const std::vector<Part>& parts = tensors_.at(current_);
        uint64_t first = 0;
        for (std::size_t i = 0; i < parts.size(); ++i) {  // back to back: one contiguous range
            w_.begin_tensor(parts[i].name);
            const uint64_t at = w_.reserve_tensor();
            if (i == 0) first = at;
            w_.end_tensor();
        }
        part_ = parts.size();
        return first;
    }
    void write_at(uint64_t file_offset, std::span<const uint8_t> bytes) const override {
        w_.write_at(file_offset, bytes);
    }
    void write(std::span<const uint8_t> bytes) override {
        const std::vector<Part>& parts = tensors_.at(current_);
        while (!bytes.empty()) {
            if (left_ == 0) next_part(parts);
            const std::size_t n = static_cast<std::size_t>(std::min<uint64_t>(left_, bytes.size()));
            w_.write(bytes.first(n));
            bytes = bytes.subspan(n);
            left_ -= n;
        }
    }
    void end_tensor() override {
        const std::vector<Part>& parts = tensors_.at(current_);
        while (left_ == 0 && part_ < parts.size() && parts[part_].bytes == 0) next_part(parts);  // empty parts
        if (left_ != 0 || part_ != parts.size()) fail("SafeTensors output: tensor '", parts[0].name, "' is short of bytes");
        if (open_) w_.end_tensor();
        open_ = false;
        ++current_;
    }
    void finish() override {
        if (!header_done_) w_.set_metadata("quantization_config", config_.dump());
        w_.finish();
    }
    void set_metadata(const std::string& key, const std::string& value) override { w_.set_metadata(key, value); }
    std::vector<std::filesystem::path> files() const override { return {path_}; }

private:
    struct Part;
    void next_part(const std::vector<Part>& parts) {
        if (open_) w_.end_tensor();
        open_ = false;
        if (part_ == parts.size()) fail("SafeTensors output: more bytes than tensor '", parts[0].name, "' holds");
        w_.begin_tensor(parts[part_].name);
        open_ = true;
        left_ = parts[part_].bytes;
        ++part_;
    }
    struct Part {
        std::string name;
        SafeDtype dtype;
        std::vector<int64_t> shape;
        uint64_t bytes = 0;
    };
    SafeTensorsWriter w_;
    std::filesystem::path path_;
    nlohmann::json config_;
    std::vector<std::vector<Part>> tensors_;
    bool header_done_ = false;
    std::size_t current_ = 0;
    std::size_t part_ = 0;
    uint64_t left_ = 0;
    bool open_ = false;
};

}  // namespace

std::unique_ptr<OutputFile> open_output(OutFormat format, const std::filesystem::path& path,
                                        const TensorSource& source, TypeId file_type_of, int shards) {
    if (shards > 1) {
        if (format != OutFormat::gguf) fail("--shards: only GGUF output is written as a split set so far");
        return std::make_unique<GgufSplitOutput>(path, source, file_type_of, shards);
    }
    if (format == OutFormat::gguf) return std::make_unique<GgufOutput>(path, source, file_type_of);
    return std::make_unique<SafeTensorsOutput>(path, source);
}

}  // namespace lowbit::quantize
