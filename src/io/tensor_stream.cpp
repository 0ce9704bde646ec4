// TensorStream: declared order and sizes of streamed tensors.
#include "tensor_stream.hpp"

#include "lowbit/error.hpp"

namespace lowbit::io {

void TensorStream::declare(std::string name, uint64_t bytes) {
    if (started_) {
        fail(output_, ": tensor '", name, "': declared after tensor data began (declare every tensor first)");
    }
    if (index_.count(name) != 0) {
        fail(output_, ": tensor '", name, "': declared twice");
    }
    index_.emplace(name, tensors_.size());
    tensors_.push_back({std::move(name), bytes});
}

std::size_t TensorStream::begin(std::string_view name) {
    started_ = true;
    if (open_) {
        fail(output_, ": tensor '", name, "': begun while tensor '", tensors_[next_].name, "' is still open");
    }
    const auto it = index_.find(name);
    if (it == index_.end()) {
        fail(output_, ": tensor '", name, "': never declared");
    }
    if (it->second != next_) {
        if (next_ >= tensors_.size() || it->second < next_) {
            fail(output_, ": tensor '", name, "': already written");
        }
        fail(output_, ": tensor '", name, "': written out of order (next is '", tensors_[next_].name, "')");
    }
    open_ = true;
    written_ = 0;
    return next_;
}

void TensorStream::advance(uint64_t n) {
    if (!open_) {
        fail(output_, ": tensor bytes written outside begin_tensor/end_tensor");
    }
    const Entry& t = tensors_[next_];
    if (n > t.bytes - written_) {
        fail(output_, ": tensor '", t.name, "': ", written_ + n, " bytes written, more than its ", t.bytes);
    }
    written_ += n;
}

void TensorStream::end() {
    if (!open_) {
        fail(output_, ": end_tensor without begin_tensor");
    }
    const Entry& t = tensors_[next_];
    if (written_ != t.bytes) {
        fail(output_, ": tensor '", t.name, "': ", written_, " bytes written, expected ", t.bytes);
    }
    open_ = false;
    ++next_;
}

void TensorStream::check_complete() const {
    if (open_) {
        fail(output_, ": tensor '", tensors_[next_].name, "' was not ended");
    }
    if (next_ < tensors_.size()) {
        fail(output_, ": tensor '", tensors_[next_].name, "' was declared but never written");
    }
}

}  // namespace lowbit::io
