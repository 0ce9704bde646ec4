// The batch API (decode.hpp): a token's logits have the same bits whatever batch it runs in
// (alone, among other sequences' tokens, inside a prefill chunk of any size, on 1 or 2 threads),
// for every weight type as the linears and at every level this machine runs; and the KV cache's
// sequence operations (copy_prefix, truncate, free) and the batch's errors.
#include "lowbit/decode.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>

#include "kernels/kernel_check.hpp"
#include "lowbit/error.hpp"
#include "lowbit/model_writer.hpp"
#include "lowbit/session.hpp"
#include "reference_model.hpp"

namespace lowbit::test {
namespace {

constexpr int64_t kVocab = 320;

llm::ModelShape tiny_shape() {
    llm::ModelShape s;
    s.arch = "bitnet-b1.58";
    s.n_layer = 2;
    s.n_embd = 256;
    s.n_ff = 512;
    s.n_head = 4;
    s.n_head_kv = 2;
    s.n_vocab = kVocab;
    s.n_ctx = 256;
    s.rope_theta = 10000.0f;
    return s;
}

std::filesystem::path model_file(TypeId linear, const std::string& tag) {
    static const ReferenceModel ref = make_reference_model(tiny_shape(), 23);
    const auto path =
        std::filesystem::temp_directory_path() / ("lowbit_decode_" + tag + "_" + std::to_string(::getpid()) + ".gguf");
    llm::ModelTypes types;
    types.linear = linear;
    llm::write_model(
        path, ref.shape, types, [&](const std::string& name, int64_t, int64_t) { return ref.tensors.at(name); },
        Metadata());
    return path;
}

std::unique_ptr<llm::Model> load(const std::filesystem::path& path, Isa isa, std::optional<TypeId> head = {}) {
    llm::LoadOptions o;
    o.isa = isa;
    o.head_type = head;
    o.threads = 1;
    return llm::Model::load(path, o);
}

std::vector<int32_t> tokens(int n, int seed) {
    std::vector<int32_t> t;
    for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 37 + seed * 101 + 5) % kVocab));
    return t;
}

using Logits = std::vector<float>;

// Each position's logits with every token decoded alone (a batch of one), on one thread.
std::vector<Logits> alone(const llm::Model& model, const std::vector<int32_t>& seq) {
    ThreadPool pool(1);
    llm::KvCache kv(model, {128, 1, llm::KvCacheType::f16});
    llm::Workspace ws(model, 1);
    const int id = kv.allocate();
    std::vector<Logits> out;
    for (std::size_t i = 0; i < seq.size(); ++i) {
        llm::Batch b;
        b.add(seq[i], id, static_cast<int64_t>(i), true);
        const std::span<const float> l = llm::decode(model, b, kv, ws, pool);
        out.emplace_back(l.begin(), l.end());
    }
    return out;
}

bool same_bits(std::span<const float> a, const Logits& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<Isa> levels() {
    std::vector<Isa> out = {Isa::scalar};
    for (Isa isa : testable_levels()) out.push_back(isa);
    return out;
}

// Three sequences, each with its own tokens, run in steps that mix prefill chunks and single
// tokens (one step of 18 tokens, so that kernels taking only larger batches, the AMX tiles,
// run too); every token's logits equal those of the token alone, bit for bit.
void expect_batch_invariance(const llm::Model& model, int threads) {
    const std::vector<int32_t> a = tokens(9, 1), b = tokens(20, 2), c = tokens(3, 3);
    const std::vector<Logits> ra = alone(model, a), rb = alone(model, b), rc = alone(model, c);
    ThreadPool pool(threads);
    llm::KvCache kv(model, {64, 3, llm::KvCacheType::f16});
    llm::Workspace ws(model, 32);
    const int sa = kv.allocate(), sb = kv.allocate(), sc = kv.allocate();
    struct Part {
        int seq;
        const std::vector<int32_t>* tokens;
        const std::vector<Logits>* want;
        int64_t first, count;
    };
    const std::vector<std::vector<Part>> steps = {
        {{sa, &a, &ra, 0, 5}, {sb, &b, &rb, 0, 1}, {sc, &c, &rc, 0, 3}},
        {{sa, &a, &ra, 5, 1}, {sb, &b, &rb, 1, 17}},
        {{sb, &b, &rb, 18, 2}, {sa, &a, &ra, 6, 3}},
    };
    for (std::size_t step = 0; step < steps.size(); ++step) {
        llm::Batch batch;
        for (const Part& p : steps[step]) {
            for (int64_t i = p.first; i < p.first + p.count; ++i) {
                batch.add((*p.tokens)[static_cast<std::size_t>(i)], p.seq, i, true);
            }
        }
        const std::span<const float> logits = llm::decode(model, batch, kv, ws, pool);
        ASSERT_EQ(static_cast<int64_t>(logits.size()), batch.size() * kVocab);
        std::size_t row = 0;
        for (const Part& p : steps[step]) {
            for (int64_t i = p.first; i < p.first + p.count; ++i, ++row) {
                ASSERT_TRUE(same_bits(logits.subspan(row * kVocab, kVocab), (*p.want)[static_cast<std::size_t>(i)]))
                    << "step " << step << ", sequence " << p.seq << " position " << i << " (" << threads << " threads)";
            }
        }
    }
    // the whole of b as one prefill chunk, asking for the last logits only
    llm::KvCache fresh(model, {64, 1, llm::KvCacheType::f16});
    llm::Batch batch;
    batch.add_sequence(b, fresh.allocate(), 0);
    EXPECT_TRUE(same_bits(llm::decode(model, batch, fresh, ws, pool), rb.back()));
}

class BatchInvariance : public ::testing::TestWithParam<std::string> {};

TEST_P(BatchInvariance, LogitsDoNotDependOnTheBatch) {
    const WeightType& type = weight_type(GetParam());
    const auto path = model_file(type.id, std::string(type.name));
    for (Isa isa : levels()) {
        SCOPED_TRACE(std::string(isa_name(isa)));
        const auto model = load(path, isa);
        expect_batch_invariance(*model, 2);
        if (type.id == TypeId::I2_S) expect_batch_invariance(*model, 1);
    }
    std::filesystem::remove(path);
}

std::vector<std::string> type_names() {
    std::vector<std::string> names;
    for (const WeightType& t : weight_types()) names.emplace_back(t.name);
    return names;
}

INSTANTIATE_TEST_SUITE_P(EveryType, BatchInvariance, ::testing::ValuesIn(type_names()),
                         [](const auto& info) { return info.param; });

// A quantized head (re-quantized at load time) batches the same way.
TEST(BatchInvariance, QuantizedHeads) {
    const auto path = model_file(TypeId::I2_S, "heads");
    for (TypeId head : {TypeId::Q8_0, TypeId::Q6_K, TypeId::Q4_0}) {
        for (Isa isa : levels()) {
            SCOPED_TRACE(std::string(weight_type(head).name) + " head, " + std::string(isa_name(isa)));
            expect_batch_invariance(*load(path, isa, head), 2);
        }
    }
    std::filesystem::remove(path);
}

// A session's prompt in chunks of any size gives the logits of feeding it token by token.
TEST(Session, PromptAtOnceEqualsTokenByToken) {
    const auto path = model_file(TypeId::I2_S, "session");
    const auto model = load(path, best_isa());
    std::filesystem::remove(path);
    const std::vector<int32_t> prompt = tokens(21, 4);
    const std::vector<Logits> want = alone(*model, prompt);
    ThreadPool pool(2);
    for (int64_t chunk : {1, 4, 16, 512}) {
        llm::SessionOptions o;
        o.n_ctx = 64;
        o.max_batch = chunk;
        llm::Session session(*model, pool, o);
        std::vector<float> all, last;
        session.eval(prompt, all, /*all_logits=*/true);
        for (std::size_t i = 0; i < prompt.size(); ++i) {
            EXPECT_TRUE(same_bits(std::span<const float>(all).subspan(i * kVocab, kVocab), want[i]))
                << chunk << " " << i;
        }
        session.reset();
        session.eval(prompt, last);
        EXPECT_TRUE(same_bits(last, want.back())) << chunk;
    }
}

TEST(KvCache, CopyPrefixAndTruncateContinueLikeTheOriginal) {
    const auto path = model_file(TypeId::TQ2_0, "kv");
    const auto model = load(path, best_isa());
    std::filesystem::remove(path);
    const std::vector<int32_t> seq = tokens(70, 5);  // crosses a page (64 positions)
    const std::vector<Logits> want = alone(*model, seq);
    ThreadPool pool(2);
    llm::KvCache kv(*model, {128, 2, llm::KvCacheType::f16});
    llm::Workspace ws(*model, 80);
    const int s0 = kv.allocate(), s1 = kv.allocate();
    llm::Batch batch;
    batch.add_sequence(std::span(seq).first(66), s0, 0);
    llm::decode(*model, batch, kv, ws, pool);
    EXPECT_EQ(kv.length(s0), 66);

    // a copy of the first 65 positions continues as the original did
    kv.copy_prefix(s0, s1, 65);
    EXPECT_EQ(kv.length(s1), 65);
    batch.clear();
    batch.add_sequence(std::span(seq).subspan(65, 5), s1, 65, true);
    const std::span<const float> copied = llm::decode(*model, batch, kv, ws, pool);
    for (std::size_t i = 0; i < 5; ++i) EXPECT_TRUE(same_bits(copied.subspan(i * kVocab, kVocab), want[65 + i])) << i;

    // truncated to 10 positions, the original continues from there
    kv.truncate(s0, 10);
    batch.clear();
    batch.add_sequence(std::span(seq).subspan(10, 3), s0, 10);
    EXPECT_TRUE(same_bits(llm::decode(*model, batch, kv, ws, pool), want[12]));

    // freed sequences give their pages back: the next one reuses them
    const std::size_t bytes = kv.bytes_allocated();
    kv.free(s1);
    EXPECT_FALSE(kv.in_use(s1));
    const int s2 = kv.allocate();
    batch.clear();
    batch.add_sequence(std::span(seq).first(70), s2, 0);
    EXPECT_TRUE(same_bits(llm::decode(*model, batch, kv, ws, pool), want[69]));
    EXPECT_EQ(kv.bytes_allocated(), bytes);
}

std::optional<ErrorCode> code_of(const std::function<void()>& f, std::string* message = nullptr) {
    try {
        f();
    } catch (const Error& e) {
        if (message) *message = e.what();
        return e.code();
    }
    return std::nullopt;
}

TEST(Decode, BadBatchesAreRefusedAndChangeNothing) {
    const auto path = model_file(TypeId::I2_S, "errors");
    const auto model = load(path, best_isa());
    std::filesystem::remove(path);
    ThreadPool pool(1);
    llm::KvCache kv(*model, {8, 2, llm::KvCacheType::f16});
    llm::Workspace ws(*model, 4);
    const int s = kv.allocate();
    auto run = [&](const llm::Batch& b) { llm::decode(*model, b, kv, ws, pool); };
    std::string message;
    llm::Batch b;
    EXPECT_EQ(code_of([&] { run(b); }), ErrorCode::bad_argument);  // empty
    b.add(kVocab, s, 0, true);
    EXPECT_EQ(code_of([&] { run(b); }, &message), ErrorCode::bad_argument);
    EXPECT_NE(message.find("id 320 is out of range"), std::string::npos) << message;
    b.clear();
    b.add(1, s, 1, true);  // position 1 before 0
    EXPECT_EQ(code_of([&] { run(b); }, &message), ErrorCode::bad_argument);
    EXPECT_NE(message.find("expected 0"), std::string::npos) << message;
    b.clear();
    b.add(1, 1, 0, true);  // sequence 1 was never allocated
    EXPECT_EQ(code_of([&] { run(b); }), ErrorCode::bad_argument);
    b.clear();
    for (int i = 0; i < 5; ++i) b.add(1, s, i, false);  // more than the workspace holds
    EXPECT_EQ(code_of([&] { run(b); }), ErrorCode::bad_argument);
    EXPECT_EQ(kv.length(s), 0);

    // a context of 8: the ninth position is refused and the sequence keeps its 8
    for (int64_t first = 0; first < 8; first += 4) {
        b.clear();
        for (int64_t i = first; i < first + 4; ++i) b.add(2, s, i, false);
        run(b);
    }
    b.clear();
    b.add(2, s, 8, true);
    EXPECT_EQ(code_of([&] { run(b); }, &message), ErrorCode::context_full);
    EXPECT_EQ(message.find("--"), std::string::npos) << "library messages name no CLI flag: " << message;
    EXPECT_EQ(kv.length(s), 8);
    // and every sequence in use
    kv.allocate();
    EXPECT_EQ(code_of([&] { kv.allocate(); }), ErrorCode::bad_argument);
}

}  // namespace
}  // namespace lowbit::test
