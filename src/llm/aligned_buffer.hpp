// A growable, 64-byte aligned byte buffer (the pack kernels' contract): contents are not kept
// when it grows.
#pragma once

#include <cstdlib>
#include <memory>

#include "lowbit/error.hpp"

namespace lowbit::llm {

class AlignedBuffer {
public:
    uint8_t* reserve(std::size_t bytes) {
        if (bytes > size_) {
            const std::size_t rounded = (bytes + 63) / 64 * 64;
            data_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, rounded)));
            if (!data_) fail_as(ErrorCode::out_of_memory, "out of memory: ", rounded, " bytes of packed activations");
            size_ = rounded;
        }
        return data_.get();
    }

private:
    struct Free {
        void operator()(uint8_t* p) const { std::free(p); }
    };
    std::unique_ptr<uint8_t, Free> data_;
    std::size_t size_ = 0;
};

}  // namespace lowbit::llm
