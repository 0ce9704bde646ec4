// A bounds-checked cursor over a file's bytes, for the binary parsers (GGUF, SafeTensors).
// Every read checks the remaining length first; a short file is an Error naming the file,
// the field being read, the offset and the size. `field` is a callable returning the field's
// description, so the message is only built when something is wrong.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "lowbit/error.hpp"

namespace lowbit::io {

static_assert(std::endian::native == std::endian::little, "lowbit's file readers assume a little-endian host");

class ByteReader {
public:
    ByteReader(std::span<const uint8_t> bytes, const std::string& source) : bytes_(bytes), source_(source) {}

    uint64_t pos() const { return pos_; }
    uint64_t size() const { return bytes_.size(); }
    uint64_t remaining() const { return bytes_.size() - pos_; }
    const std::string& source() const { return source_; }

    // A little-endian value of a trivially copyable type.
    template <typename T, typename Field>
    T read(const Field& field) {
        static_assert(std::is_trivially_copyable_v<T>);
        need(sizeof(T), field);
        T v;
        std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
        pos_ += sizeof(T);
        return v;
    }

    template <typename Field>
    std::span<const uint8_t> take(uint64_t n, const Field& field) {
        need(n, field);
        const auto out = bytes_.subspan(pos_, n);
        pos_ += n;
        return out;
    }

    // GGUF's string: u64 length, then that many bytes (no terminator).
    template <typename Field>
    std::string_view string(const Field& field) {
        const uint64_t n = read<uint64_t>(field);
        if (n > remaining()) {
            fail_as(ErrorCode::bad_file, source_, ": ", field(), ": string length ", n, " exceeds the ", remaining(),
                 " bytes left in the file");
        }
        const auto s = take(n, field);
        return {reinterpret_cast<const char*>(s.data()), s.size()};
    }

    template <typename Field>
    void need(uint64_t n, const Field& field) const {
        if (n > remaining()) {
            fail_as(ErrorCode::bad_file, source_, ": ", field(), ": truncated: needs ", n, " bytes at offset ", pos_, " but the file ends at ",
                 bytes_.size());
        }
    }

private:
    std::span<const uint8_t> bytes_;
    const std::string& source_;
    uint64_t pos_ = 0;
};

// Overflow-checked size arithmetic: false when the result does not fit.
[[nodiscard]] inline bool add_overflows(uint64_t a, uint64_t b, uint64_t& out) {
    return __builtin_add_overflow(a, b, &out);
}
[[nodiscard]] inline bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) {
    return __builtin_mul_overflow(a, b, &out);
}

// The next multiple of `alignment` (a power of two) at or after `offset`; false on overflow.
[[nodiscard]] inline bool align_up(uint64_t offset, uint64_t alignment, uint64_t& out) {
    uint64_t bumped;
    if (add_overflows(offset, alignment - 1, bumped)) return false;
    out = bumped & ~(alignment - 1);
    return true;
}

}  // namespace lowbit::io
