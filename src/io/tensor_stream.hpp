// The bookkeeping the streaming writers share: tensors are declared first (name and byte
// size), then their bytes arrive one tensor at a time, in declaration order, each exactly
// its declared size. Every misuse is an Error naming the output file and the tensor.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lowbit::io {

class TensorStream {
public:
    explicit TensorStream(std::string output) : output_(std::move(output)) {}

    // Declares the next tensor; refuses a duplicate name or a declaration after data began.
    void declare(std::string name, uint64_t bytes);
    std::size_t count() const { return tensors_.size(); }
    bool started() const { return started_; }
    const std::string& name(std::size_t i) const { return tensors_[i].name; }
    uint64_t bytes(std::size_t i) const { return tensors_[i].bytes; }

    // Starts `name`, which must be the next declared tensor; returns its index.
    std::size_t begin(std::string_view name);
    // Accounts for `n` more bytes of the current tensor.
    void advance(uint64_t n);
    // Bytes of the current tensor not yet accounted for (0 when none is open).
    uint64_t remaining() const { return open_ ? tensors_[next_].bytes - written_ : 0; }
    // Ends the current tensor; its bytes must all have been written.
    void end();
    // Every declared tensor has been written (and none is open).
    void check_complete() const;
    void mark_started() { started_ = true; }

private:
    struct Entry {
        std::string name;
        uint64_t bytes = 0;
    };

    std::string output_;
    std::vector<Entry> tensors_;
    std::map<std::string, std::size_t, std::less<>> index_;
    std::size_t next_ = 0;
    bool open_ = false;
    uint64_t written_ = 0;
    bool started_ = false;
};

}  // namespace lowbit::io
