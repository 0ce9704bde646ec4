#include "interrupt.hpp"

#include <pybind11/pybind11.h>

#include "lowbit/sequence.hpp"

namespace py = pybind11;

namespace lowbit::python {
namespace {

unsigned long main_thread = 0;
int depth = 0;                  // scopes open on the main thread (only it installs, so no lock)
bool handler_installed = false;  // by the outermost of them
std::atomic<bool> sigint_seen{false};
std::atomic<llm::Sequence*> watched{nullptr};

void on_sigint(int) {
    sigint_seen.store(true, std::memory_order_relaxed);
    if (llm::Sequence* s = watched.load(std::memory_order_relaxed)) s->cancel();  // an atomic store
}

}  // namespace

void remember_main_thread() {
    main_thread = py::module_::import("threading").attr("main_thread")().attr("ident").cast<unsigned long>();
}

InterruptScope::InterruptScope() {
    if (PyThread_get_thread_ident() != main_thread) return;
    if (depth++ > 0) return;
    struct sigaction current {};
    sigaction(SIGINT, nullptr, &current);
    // Python's handler is there unless the program ignored SIGINT or restored the default
    if (current.sa_handler == SIG_IGN || current.sa_handler == SIG_DFL) return;
    struct sigaction ours {};
    ours.sa_handler = on_sigint;
    sigemptyset(&ours.sa_mask);
    sigint_seen.store(false);
    sigaction(SIGINT, &ours, &previous_);
    installed_ = handler_installed = true;
}

InterruptScope::~InterruptScope() {
    if (PyThread_get_thread_ident() != main_thread) return;
    --depth;
    if (!installed_) return;
    watched.store(nullptr);
    sigaction(SIGINT, &previous_, nullptr);
    handler_installed = false;
    // a Ctrl-C that arrived after the work's last check is not lost: Python raises it next
    if (sigint_seen.exchange(false)) PyErr_SetInterrupt();
}

const std::atomic<bool>* InterruptScope::cancel_flag() const { return handler_installed && PyThread_get_thread_ident() == main_thread ? &sigint_seen : &never_; }

void InterruptScope::watch(llm::Sequence* sequence) {
    if (handler_installed && PyThread_get_thread_ident() == main_thread) watched.store(sequence);
}

bool InterruptScope::interrupted() const { return cancel_flag()->load(); }

void InterruptScope::raise_if_interrupted() const {
    if (!interrupted()) return;
    sigint_seen.store(false);  // raised here, not again when the scope ends
    PyErr_SetNone(PyExc_KeyboardInterrupt);
    throw py::error_already_set();
}

}  // namespace lowbit::python
