// lowbit.Model: a GGUF model for generation, chat, scoring and logits. The loaded model is
// immutable and shared; each call borrows a session (KV cache and workspace) from a free list,
// so calls from several Python threads, and streams left open, each have their own.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "arrays.hpp"
#include "bindings.hpp"
#include "interrupt.hpp"
#include "lowbit/chat.hpp"
#include "lowbit/error.hpp"
#include "lowbit/generate.hpp"
#include "lowbit/model.hpp"
#include "lowbit/perplexity.hpp"
#include "lowbit/sequence.hpp"
#include "lowbit/session.hpp"
#include "lowbit/stream_decoder.hpp"
#include "lowbit/thread_pool.hpp"

namespace py = pybind11;
using namespace py::literals;

namespace lowbit::python {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double>(b - a).count();
}

struct ModelState {
    std::string path;
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<llm::Model> model;
    llm::SessionOptions session_options;
    std::mutex mutex;
    std::vector<std::unique_ptr<llm::Session>> free_sessions;  // destroyed before the model

    std::unique_ptr<llm::Session> take() {
        {
            std::lock_guard<std::mutex> lock(mutex);
            if (!free_sessions.empty()) {
                std::unique_ptr<llm::Session> s = std::move(free_sessions.back());
                free_sessions.pop_back();
                s->reset();
                return s;
            }
        }
        return std::make_unique<llm::Session>(*model, *pool, session_options);
    }
    void give(std::unique_ptr<llm::Session> s) {
        std::lock_guard<std::mutex> lock(mutex);
        free_sessions.push_back(std::move(s));
    }
};

// A borrowed session, returned when the lease ends.
class Lease {
public:
    explicit Lease(std::shared_ptr<ModelState> state) : state_(std::move(state)), session_(state_->take()) {}
    ~Lease() {
        if (session_) state_->give(std::move(session_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    llm::Session& operator*() { return *session_; }
    llm::Session* operator->() { return session_.get(); }

private:
    std::shared_ptr<ModelState> state_;
    std::unique_ptr<llm::Session> session_;
};

llm::GenerateOptions generate_options(int max_tokens, float temperature, int top_k, float top_p, float min_p,
                                      float repeat_penalty, int repeat_last_n, float frequency_penalty,
                                      float presence_penalty, const py::object& seed, const py::object& stop,
                                      bool ignore_eos) {
    llm::GenerateOptions o;
    o.n_predict = max_tokens;
    o.sampling.temperature = temperature;
    o.sampling.top_k = top_k;
    o.sampling.top_p = top_p;
    o.sampling.min_p = min_p;
    o.sampling.repeat_penalty = repeat_penalty;
    o.sampling.repeat_last_n = repeat_last_n;
    o.sampling.frequency_penalty = frequency_penalty;
    o.sampling.presence_penalty = presence_penalty;
    o.sampling.seed = seed.is_none() ? std::random_device{}() : seed.cast<uint64_t>();
    if (!stop.is_none()) {
        if (py::isinstance<py::str>(stop)) o.stop = {stop.cast<std::string>()};
        else o.stop = stop.cast<std::vector<std::string>>();
    }
    o.ignore_eos = ignore_eos;
    llm::validate(o.sampling);
    return o;
}

py::dict result_dict(const std::string& text, const std::vector<int32_t>& tokens, llm::StopReason reason,
                     const llm::GenerateStats& s, uint64_t seed) {
    return py::dict("text"_a = py::bytes(text).attr("decode")("utf-8", "replace"), "tokens"_a = tokens,
                    "stop_reason"_a = std::string(llm::stop_reason_name(reason)), "prompt_tokens"_a = s.prompt_tokens,
                    "generated_tokens"_a = s.generated_tokens, "prompt_seconds"_a = s.prompt_seconds,
                    "decode_seconds"_a = s.decode_seconds, "first_token_seconds"_a = s.first_token_seconds,
                    "tokens_per_second"_a = s.decode_seconds > 0 ? static_cast<double>(s.generated_tokens) / s.decode_seconds : 0.0,
                    "seed"_a = seed);
}

py::str utf8(const std::string& text) { return py::reinterpret_steal<py::str>(PyUnicode_DecodeUTF8(text.data(), static_cast<py::ssize_t>(text.size()), "replace")); }

// One token per __next__: the previous token is evaluated lazily, so a consumer that stops
// (break, close(), garbage collection) costs nothing more.
class TextStream {
public:
    TextStream(std::shared_ptr<ModelState> state, std::vector<int32_t> prompt, const llm::GenerateOptions& options)
        : state_(state), lease_(std::make_unique<Lease>(state)), seed_(options.sampling.seed) {
        sequence_ = std::make_unique<llm::Sequence>(state->model->tokenizer(), prompt, options,
                                                    (**lease_).n_ctx() - (**lease_).n_past());
    }

    py::str next() {
        if (finished_) throw py::stop_iteration();
        std::string text;
        InterruptScope interrupt;
        interrupt.watch(sequence_.get());
        {
            py::gil_scoped_release unlocked;
            while (text.empty() && !finished_) {
                llm::Session& session = **lease_;
                if (!started_) {
                    start_ = Clock::now();
                    session.eval(sequence_->prompt(), logits_);
                    stats_.prompt_tokens = static_cast<int64_t>(sequence_->prompt().size());
                    stats_.prompt_seconds = seconds_between(start_, Clock::now());
                    started_ = true;
                } else {
                    session.eval(std::span<const int32_t>(&pending_, 1), logits_);
                }
                const llm::StepResult step = sequence_->step(logits_);
                if (step.token >= 0 && first_ == Clock::time_point{}) {
                    first_ = Clock::now();
                    stats_.first_token_seconds = seconds_between(start_, first_);
                }
                text = step.text;
                pending_ = step.token;
                if (step.done) finished_ = true;
            }
            if (finished_) finish();
        }
        interrupt.raise_if_interrupted();
        if (text.empty()) throw py::stop_iteration();
        return utf8(text);
    }

    void close() {
        if (!finished_) cancelled_ = true;
        finished_ = true;
        finish();
    }

    py::dict details() const {
        if (!sequence_) return py::dict();
        const llm::StopReason reason = cancelled_ ? llm::StopReason::cancelled : sequence_->reason();
        return result_dict(sequence_->text(), sequence_->generated(), reason, stats_, seed_);
    }
    bool done() const { return finished_; }

private:
    void finish() {
        if (!lease_) return;
        stats_.generated_tokens = static_cast<int64_t>(sequence_->generated().size());
        if (first_ != Clock::time_point{}) stats_.decode_seconds = seconds_between(first_, Clock::now());
        lease_.reset();
    }

    std::shared_ptr<ModelState> state_;
    std::unique_ptr<Lease> lease_;
    std::unique_ptr<llm::Sequence> sequence_;
    std::vector<float> logits_;
    int32_t pending_ = -1;
    bool started_ = false;
    bool finished_ = false;
    bool cancelled_ = false;  // closed before the sequence was done
    uint64_t seed_ = 0;
    Clock::time_point start_{}, first_{};
    llm::GenerateStats stats_;
};

class PyModel {
public:
    PyModel(const py::object& path, const py::object& threads, const py::object& ctx, const py::object& head_type) {
        auto state = std::make_shared<ModelState>();
        state->path = fspath(path);
        const int n = thread_count_argument(threads);
        llm::LoadOptions options;
        if (!head_type.is_none()) {
            const std::string name = head_type.cast<std::string>();
            const WeightType* t = find_weight_type(name);
            if (t == nullptr || (t->id != TypeId::Q8_0 && t->id != TypeId::Q6_K && t->id != TypeId::Q4_0)) {
                throw py::value_error("head_type: '" + name + "' is not q8_0, q6_k or q4_0");
            }
            options.head_type = t->id;
        }
        if (!ctx.is_none()) {
            const int64_t c = ctx.cast<int64_t>();
            if (c < 0) throw py::value_error("ctx: " + std::to_string(c) + " is negative (0: the training context)");
            state->session_options.n_ctx = c;
        }
        {
            py::gil_scoped_release unlocked;
            state->pool = std::make_unique<ThreadPool>(n);
            options.pool = state->pool.get();
            state->model = llm::Model::load(state->path, options);
            state->model->tokenizer();  // a file without a tokenizer cannot generate: say so now
            state->session_options.n_ctx = llm::default_context_size(*state->model, state->session_options.n_ctx);
        }
        state_ = std::move(state);
    }

    const std::shared_ptr<ModelState>& state() const {
        if (!state_) throw py::value_error("the model is closed");
        return state_;
    }
    const Tokenizer& tokenizer() const { return state()->model->tokenizer(); }
    void close() { state_.reset(); }
    bool closed() const { return !state_; }

    std::vector<int32_t> prompt_tokens(const py::object& prompt, const char* arg) const {
        if (py::isinstance<py::str>(prompt)) {
            const std::string text = prompt.cast<std::string>();
            const Tokenizer& tok = tokenizer();
            py::gil_scoped_release unlocked;
            return tok.encode(text, tok.add_bos(), /*parse_special=*/true);
        }
        try {
            return prompt.cast<std::vector<int32_t>>();
        } catch (const py::cast_error&) {
            throw py::type_error(std::string(arg) + ": expected a str or a list of token ids");
        }
    }

    py::object run(std::vector<int32_t> prompt, const llm::GenerateOptions& options, bool stream, bool details) {
        if (stream) return py::cast(TextStream(state(), std::move(prompt), options));
        Lease lease(state());
        llm::Sequence sequence(tokenizer(), prompt, options, lease->n_ctx() - lease->n_past());
        InterruptScope interrupt;
        interrupt.watch(&sequence);
        llm::GenerateResult r;
        {
            py::gil_scoped_release unlocked;
            r = llm::generate(*lease, sequence, {});
        }
        interrupt.raise_if_interrupted();
        if (details) return result_dict(r.text, r.tokens, r.reason, r.stats, options.sampling.seed);
        return utf8(r.text);
    }

    std::vector<int32_t> chat_tokens(const py::object& messages) const {
        std::vector<ChatMessage> list;
        for (const py::handle m : messages) {
            if (!py::isinstance<py::dict>(m)) throw py::type_error("messages: each message is a dict with 'role' and 'content'");
            const py::dict d = py::reinterpret_borrow<py::dict>(m);
            if (!d.contains("role") || !d.contains("content")) {
                throw py::value_error("messages: each message needs 'role' and 'content'");
            }
            list.push_back({d["role"].cast<std::string>(), d["content"].cast<std::string>()});
        }
        if (list.empty()) throw py::value_error("messages: empty");
        const Tokenizer& tok = tokenizer();
        const ChatFormatChoice choice = choose_chat_format(tok.chat_template());
        if (!choice.warning.empty()) {
            if (PyErr_WarnEx(PyExc_UserWarning, choice.warning.c_str(), 2) != 0) throw py::error_already_set();
        }
        return encode_llama3_chat(tok, list, true);
    }

    py::dict score(const std::string& text, const py::object& window_arg) {
        const std::shared_ptr<ModelState>& s = state();
        const Tokenizer& tok = tokenizer();
        int64_t window = window_arg.is_none() ? 0 : window_arg.cast<int64_t>();
        if (window < 0 || window == 1) throw py::value_error("window: " + std::to_string(window) + " is not >= 2");
        llm::PerplexityResult r;
        std::size_t token_count = 0;
        {
            InterruptScope interrupt;  // score has no cancel point: Ctrl-C is seen when it returns
            py::gil_scoped_release unlocked;
            const std::vector<int32_t> tokens = tok.encode(text, tok.add_bos(), /*parse_special=*/false);
            token_count = tokens.size();
            if (window == 0) {  // as `lowbit score`
                const int64_t trained = s->model->hp().n_ctx_train;
                window = trained >= 2 && trained < 512 ? trained : 512;
            }
            llm::SessionOptions o = s->session_options;
            o.n_ctx = window;
            o.max_batch = window;
            llm::Session session(*s->model, *s->pool, o);
            r = llm::perplexity(session, tokens, window);
        }
        return py::dict("perplexity"_a = r.perplexity, "mean_nll"_a = r.mean_nll, "scored_tokens"_a = r.scored_tokens,
                        "windows"_a = r.windows, "window"_a = window, "tokens"_a = token_count);
    }

    py::array logits(const py::object& tokens_arg) {
        const std::vector<int32_t> tokens = prompt_tokens(tokens_arg, "tokens");
        if (tokens.empty()) throw py::value_error("tokens: empty");
        const auto vocab = static_cast<py::ssize_t>(state()->model->hp().n_vocab);
        std::vector<float> out;
        {
            Lease lease(state());
            py::gil_scoped_release unlocked;
            lease->eval(tokens, out, /*all_logits=*/true);
        }
        return owning_array(std::move(out), {static_cast<py::ssize_t>(tokens.size()), vocab});
    }

    py::dict info() const {
        const llm::Model& m = *state()->model;
        const llm::HyperParameters& hp = m.hp();
        return py::dict("path"_a = state()->path, "architecture"_a = hp.arch_name, "n_layer"_a = hp.n_layer,
                        "n_embd"_a = hp.n_embd, "n_ff"_a = hp.n_ff, "n_head"_a = hp.n_head, "n_head_kv"_a = hp.n_head_kv,
                        "n_vocab"_a = hp.n_vocab, "n_ctx_train"_a = hp.n_ctx_train,
                        "n_ctx"_a = state()->session_options.n_ctx, "weight_types"_a = m.weight_types(),
                        "bytes_per_token"_a = m.bytes_per_token(), "threads"_a = state()->pool->size(),
                        "isa"_a = std::string(isa_name(m.kernels().isa())));
    }

private:
    std::shared_ptr<ModelState> state_;
};

constexpr const char* kGenerateDoc =
    "Generates from `prompt` (text, encoded with the model's BOS and special tokens as `lowbit run -p`, or "
    "token ids). Sampling as the CLI's flags (temperature 0: greedy); seed=None picks one at random. "
    "Returns the text; details=True: a dict with text, tokens, stop_reason and timings; stream=True: an "
    "iterator of text pieces (never a broken UTF-8 character), which stops generating when dropped.";

// generate() and chat(): the same sampling arguments after a different first one, which
// `to_prompt` turns into token ids.
template <typename ToPrompt>
void def_generation(py::class_<PyModel>& cls, const char* name, const char* first, int default_max_tokens,
                    ToPrompt to_prompt, const char* doc) {
    cls.def(name,
            [to_prompt](PyModel& self, const py::object& input, int max_tokens, double temperature, int top_k,
                        double top_p, double min_p, double repeat_penalty, int repeat_last_n, double frequency_penalty,
                        double presence_penalty, const py::object& seed, const py::object& stop, bool ignore_eos,
                        bool stream, bool details) {
                const llm::GenerateOptions o =
                    generate_options(max_tokens, static_cast<float>(temperature), top_k, static_cast<float>(top_p),
                                     static_cast<float>(min_p), static_cast<float>(repeat_penalty), repeat_last_n,
                                     static_cast<float>(frequency_penalty), static_cast<float>(presence_penalty), seed,
                                     stop, ignore_eos);
                return self.run(to_prompt(self, input), o, stream, details);
            },
            py::arg(first), "max_tokens"_a = default_max_tokens, "temperature"_a = 0.8, "top_k"_a = 40,
            "top_p"_a = 0.95, "min_p"_a = 0.05, "repeat_penalty"_a = 1.0, "repeat_last_n"_a = 64,
            "frequency_penalty"_a = 0.0, "presence_penalty"_a = 0.0, "seed"_a = py::none(), "stop"_a = py::none(),
            "ignore_eos"_a = false, "stream"_a = false, "details"_a = false, doc);
}

constexpr const char* kChatDoc =
    "The assistant's answer to `messages` ([{'role': ..., 'content': ...}, ...]) in the model's chat "
    "format (Llama-3; another template gets a UserWarning). Arguments as generate().";

}  // namespace

void bind_model(py::module_& m) {
    py::class_<TextStream>(m, "TextStream", "Text pieces as they are generated (Model.generate(stream=True)).")
        .def("__iter__", [](py::object self) { return self; })
        .def("__next__", &TextStream::next)
        .def("close", &TextStream::close, "Stops generating and gives the session back.")
        .def_property_readonly("details", &TextStream::details,
                               "What generate(details=True) returns, for what has been generated so far.")
        .def_property_readonly("done", &TextStream::done)
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__", [](TextStream& s, const py::args&) { s.close(); });

    py::class_<PyModel> model(m, "Model",
                              "A GGUF model (BitNet b1.58 or llama-family) for generation, chat, perplexity and "
                              "logits.");
    model.def(py::init<const py::object&, const py::object&, const py::object&, const py::object&>(), "path"_a,
             "threads"_a = py::none(), "ctx"_a = py::none(), "head_type"_a = py::none(),
             "Loads (memory-maps) the file. threads: None for every CPU; ctx: context size in tokens (None or 0: the "
             "model's training context, else 4096); head_type: re-quantize an F16/BF16 output head to q8_0, q6_k "
             "or q4_0 at load time.")
        .def("tokenize", [](PyModel& self, const std::string& text, const py::object& add_bos, bool special) {
            const Tokenizer& tok = self.tokenizer();
            const bool bos = add_bos.is_none() ? tok.add_bos() : add_bos.cast<bool>();
            py::gil_scoped_release unlocked;
            return tok.encode(text, bos, special);
        }, "text"_a, "add_bos"_a = py::none(), "special"_a = true,
             "Token ids of `text` (add_bos None: as the model asks; special: special-token text becomes its id).")
        .def("detokenize", [](PyModel& self, const std::vector<int32_t>& ids, bool skip_special) {
            const std::string bytes = self.tokenizer().decode(ids, skip_special);
            return utf8(repair_utf8(bytes));
        }, "ids"_a, "skip_special"_a = false, "The text of token ids (invalid UTF-8 as U+FFFD).")
        .def("score", &PyModel::score, "text"_a, "window"_a = py::none(),
             "Perplexity of `text` as `lowbit score` computes it: windows of `window` tokens (None: 512, or the "
             "training context when shorter), each from an empty context. A dict: perplexity, mean_nll, "
             "scored_tokens, windows, window, tokens.")
        .def("logits", &PyModel::logits, "tokens"_a,
             "The logits after every token of `tokens` (ids, or text encoded as generate() does), evaluated from "
             "an empty context: float32 (len(tokens), n_vocab).")
        .def_property_readonly("info", &PyModel::info, "The model's hyperparameters, types and settings.")
        .def_property_readonly("n_ctx", [](const PyModel& self) { return self.state()->session_options.n_ctx; })
        .def_property_readonly("n_vocab", [](const PyModel& self) { return self.state()->model->hp().n_vocab; })
        .def_property_readonly("closed", &PyModel::closed)
        .def("close", &PyModel::close,
             "Releases the model (streams still open keep it until they end). Later calls raise ValueError.")
        .def("__enter__", [](py::object self) { return self; })
        .def("__exit__", [](PyModel& self, const py::args&) { self.close(); });
    def_generation(model, "generate", "prompt", 128,
                   [](PyModel& self, const py::object& prompt) { return self.prompt_tokens(prompt, "prompt"); },
                   kGenerateDoc);
    def_generation(model, "chat", "messages", 512,
                   [](PyModel& self, const py::object& messages) { return self.chat_tokens(messages); }, kChatDoc);
}

}  // namespace lowbit::python
