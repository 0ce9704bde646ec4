// Ctrl-C during a long call. While lowbit works the GIL is released and Python's SIGINT handler
// only marks the signal for later, so a call from the main thread swaps in a handler that sets
// an atomic the work watches (quantize::Options::cancel, Sequence::cancel), puts Python's back
// when it ends, and then raises KeyboardInterrupt. Calls from other threads are not
// interruptible (Python delivers KeyboardInterrupt to the main thread only). Nested scopes
// (a progress callback that calls lowbit again) share the outermost one's handler.
#pragma once

#include <signal.h>

#include <atomic>

namespace lowbit::llm {
class Sequence;
}

namespace lowbit::python {

class InterruptScope {
public:
    InterruptScope();  // with the GIL held
    ~InterruptScope();
    InterruptScope(const InterruptScope&) = delete;
    InterruptScope& operator=(const InterruptScope&) = delete;

    // What the work watches: set when SIGINT arrives during this scope.
    const std::atomic<bool>* cancel_flag() const;
    // A sequence the handler cancels as well (nullptr: none), for generation.
    void watch(llm::Sequence* sequence);
    bool interrupted() const;
    // With the GIL held: raises KeyboardInterrupt (throws error_already_set) if interrupted.
    void raise_if_interrupted() const;

private:
    bool installed_ = false;
    struct sigaction previous_ {};
    std::atomic<bool> never_{false};
};

// Records the main thread's ident (call once at import, from the importing thread's
// interpreter: Python's main thread).
void remember_main_thread();

}  // namespace lowbit::python
