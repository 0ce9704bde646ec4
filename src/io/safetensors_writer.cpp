// SafeTensors writer: JSON header (declaration order, space-padded to 8 bytes), then the
// tensors streamed back to back.
#include "lowbit/safetensors_writer.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "atomic_output.hpp"
#include "byte_reader.hpp"
#include "lowbit/error.hpp"
#include "tensor_stream.hpp"
#include "utf8.hpp"

namespace lowbit {
namespace {

constexpr uint64_t kMaxElements = uint64_t{1} << 56;

struct Declared {
    std::string name;
    SafeDtype dtype;
    std::vector<int64_t> shape;
    uint64_t begin = 0;
    uint64_t end = 0;
};

void check_utf8(const std::string& out, std::string_view what, std::string_view s) {
    if (const auto bad = io::find_invalid_utf8(s)) {
        fail(out, ": ", what, " is not valid UTF-8 (byte ", *bad, ")");
    }
}

}  // namespace

struct SafeTensorsWriter::State {
    explicit State(const std::filesystem::path& path) : out(path), stream(out.name()) {}

    io::AtomicOutput out;
    io::TensorStream stream;
    std::map<std::string, std::string> metadata;
    std::vector<Declared> tensors;
    uint64_t data_bytes = 0;
    bool header_written = false;

    void write_header() {
        nlohmann::ordered_json header = nlohmann::ordered_json::object();
        if (!metadata.empty()) {
            header["__metadata__"] = metadata;
        }
        for (const Declared& t : tensors) {
            header[t.name] = {
                {"dtype", safe_dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {t.begin, t.end}}};
        }
        std::string text = header.dump();
        text.append((8 - text.size() % 8) % 8, ' ');
        if (text.size() > kSafeTensorsMaxHeaderBytes) {
            fail(out.name(), ": header of ", text.size(), " bytes exceeds the limit of ", kSafeTensorsMaxHeaderBytes);
        }
        const uint64_t n = text.size();
        out.write({reinterpret_cast<const uint8_t*>(&n), sizeof n});
        out.write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
        header_written = true;
        stream.mark_started();
    }
};

SafeTensorsWriter::SafeTensorsWriter(const std::filesystem::path& path) : s_(std::make_unique<State>(path)) {}

SafeTensorsWriter::~SafeTensorsWriter() = default;

void SafeTensorsWriter::set_metadata(std::string key, std::string value) {
    if (s_->header_written) {
        fail(s_->out.name(), ": metadata changed after tensor data began");
    }
    check_utf8(s_->out.name(), "metadata key", key);
    check_utf8(s_->out.name(), "metadata '" + key + "' value", value);
    s_->metadata[std::move(key)] = std::move(value);
}

uint64_t SafeTensorsWriter::add_tensor(std::string name, SafeDtype dtype, std::vector<int64_t> shape) {
    const std::string& out = s_->out.name();
    if (name.empty()) {
        fail(out, ": empty tensor name");
    }
    if (name == "__metadata__") {
        fail(out, ": '__metadata__' is reserved and cannot name a tensor");
    }
    check_utf8(out, "tensor name", name);
    uint64_t bound = 1;
    for (int64_t d : shape) {
        if (d < 0) {
            fail(out, ": tensor '", name, "': negative dimension ", d);
        }
        if (io::mul_overflows(bound, std::max<uint64_t>(static_cast<uint64_t>(d), 1), bound) || bound > kMaxElements) {
            fail(out, ": tensor '", name, "': more than 2^56 elements");
        }
    }
    uint64_t elements = 1;
    for (int64_t d : shape) elements *= static_cast<uint64_t>(d);  // bounded above
    const uint64_t bytes = elements * safe_dtype_bytes(dtype);
    uint64_t end = 0;
    if (io::add_overflows(s_->data_bytes, bytes, end)) {
        fail(out, ": tensor '", name, "': data section size overflows");
    }
    s_->stream.declare(name, bytes);
    s_->tensors.push_back({std::move(name), dtype, std::move(shape), s_->data_bytes, end});
    s_->data_bytes = end;
    return bytes;
}

void SafeTensorsWriter::begin_tensor(std::string_view name) {
    if (!s_->header_written) s_->write_header();
    s_->stream.begin(name);
}

void SafeTensorsWriter::write(std::span<const uint8_t> bytes) {
    s_->stream.advance(bytes.size());
    s_->out.write(bytes);
}

void SafeTensorsWriter::end_tensor() { s_->stream.end(); }

uint64_t SafeTensorsWriter::reserve_tensor() {
    const uint64_t bytes = s_->stream.remaining();
    s_->stream.advance(bytes);
    return s_->out.reserve(bytes);
}

void SafeTensorsWriter::write_at(uint64_t file_offset, std::span<const uint8_t> bytes) const {
    s_->out.write_at(file_offset, bytes);
}

void SafeTensorsWriter::finish() {
    if (!s_->header_written) s_->write_header();
    s_->stream.check_complete();
    s_->out.finish();
}

}  // namespace lowbit
