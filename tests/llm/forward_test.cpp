// The engine's forward pass against the independent float reference (reference_model.cpp) on
// small random BitNet models, and its internal consistency (KV cache, weight types, threads).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>
#include <unistd.h>

#include "lowbit/session.hpp"
#include "lowbit/model.hpp"
#include "lowbit/model_writer.hpp"
#include "reference_model.hpp"

namespace lowbit::test {
namespace {

llm::ModelShape tiny_shape(const std::string& arch) {
    llm::ModelShape s;
    s.arch = arch;
    s.n_layer = 2;
    s.n_embd = 256;
    s.n_ff = 512;
    s.n_head = 4;
    s.n_head_kv = 2;
    s.n_vocab = 320;
    s.n_ctx = 256;
    s.rope_theta = 10000.0f;
    return s;
}

std::filesystem::path write(const ReferenceModel& ref, TypeId linear, const std::string& tag) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("lowbit_forward_" + tag + "_" + std::to_string(::getpid()) + ".gguf");
    llm::ModelTypes types;
    types.linear = linear;
    llm::write_model(path, ref.shape, types,
                     [&](const std::string& name, int64_t, int64_t) { return ref.tensors.at(name); }, Metadata());
    return path;
}

double cosine(const std::vector<double>& a, const std::vector<float>& b) {
    double dot = 0, na = 0, nb = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        dot += a[i] * b[i];
        na += a[i] * a[i];
        nb += static_cast<double>(b[i]) * b[i];
    }
    return dot / std::sqrt(na * nb);
}

template <class T>
int32_t argmax(const std::vector<T>& v) {
    return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

// Greedy continuation of `prompt` for `steps` tokens with lowbit.
std::vector<int32_t> greedy_lowbit(const llm::Model& model, const std::vector<int32_t>& prompt, int steps, int threads) {
    ThreadPool pool(threads);
    llm::Session ctx(model, pool, {256});
    std::vector<float> logits;
    ctx.eval(prompt, logits);
    std::vector<int32_t> out;
    for (int i = 0; i < steps; ++i) {
        out.push_back(argmax(logits));
        const int32_t next = out.back();
        ctx.eval(std::span<const int32_t>(&next, 1), logits);
    }
    return out;
}

const std::vector<int32_t> kPrompt = {1, 17, 203, 5, 99, 42, 311, 7};

class ForwardTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ForwardTest, MatchesFloatReference) {
    const ReferenceModel ref = make_reference_model(tiny_shape(GetParam()), 7);
    const auto path = write(ref, TypeId::I2_S, GetParam());
    const auto model = llm::Model::load(path);
    std::filesystem::remove(path);

    // every position of the prompt, evaluated at once
    ThreadPool pool(2);
    llm::Session ctx(*model, pool, {256});
    std::vector<float> logits;
    ctx.eval(kPrompt, logits, /*all_logits=*/true);
    const auto want = ref.forward(kPrompt);
    // Cosine over the logits of the whole sequence: the two sides agree to ~1e-6 except where an
    // activation lands within an ulp of an int8 rounding boundary and one code flips (a position
    // then drops to ~0.9998 on its own: quantization is discontinuous, not an error).
    std::vector<double> all_want;
    for (const auto& row : want) all_want.insert(all_want.end(), row.begin(), row.end());
    EXPECT_GE(cosine(all_want, logits), 0.9999);
    for (std::size_t t = 0; t < kPrompt.size(); ++t) {
        const std::vector<float> row(logits.begin() + t * 320, logits.begin() + (t + 1) * 320);
        EXPECT_GE(cosine(want[t], row), 0.999) << "position " << t;
        EXPECT_EQ(argmax(row), argmax(want[t])) << "position " << t;
    }

    // 32 greedy steps: both sides feed their own choices back
    const std::vector<int32_t> got = greedy_lowbit(*model, kPrompt, 32, 2);
    std::vector<int32_t> seq = kPrompt, expected;
    for (int i = 0; i < 32; ++i) {
        expected.push_back(argmax(ref.forward(seq).back()));
        seq.push_back(expected.back());
    }
    EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Architectures, ForwardTest, ::testing::Values("bitnet-b1.58", "bitnet", "llama"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                             return n;
                         });

// Decoding one token at a time through the KV cache gives the logits of evaluating the whole
// sequence at once.
TEST(Forward, KvCacheDecodeEqualsFullRecompute) {
    const ReferenceModel ref = make_reference_model(tiny_shape("bitnet-b1.58"), 11);
    for (TypeId type : {TypeId::I2_S, TypeId::TQ2_0}) {
        SCOPED_TRACE(std::string(weight_type(type).name));
        const auto path = write(ref, type, "kv");
        const auto model = llm::Model::load(path);
        std::filesystem::remove(path);
        ThreadPool pool(2);
        llm::Session whole(*model, pool, {64}), step(*model, pool, {64});
        std::vector<float> all, one;
        whole.eval(kPrompt, all, true);
        for (std::size_t t = 0; t < kPrompt.size(); ++t) {
            step.eval(std::span<const int32_t>(&kPrompt[t], 1), one);
            for (int64_t v = 0; v < 320; ++v) {
                const float a = all[t * 320 + v], b = one[v];
                ASSERT_NEAR(a, b, 1e-4f * (1.0f + std::fabs(a))) << "position " << t << " token " << v;
            }
        }
    }
}

// The same ternary weights stored in every type that holds them exactly give the same greedy
// tokens (weights are {-1, 0, 1} x 2^-4).
TEST(Forward, EveryTernaryTypeGivesTheSameTokens) {
    const ReferenceModel ref = make_reference_model(tiny_shape("bitnet-b1.58"), 13);
    std::vector<int32_t> first;
    for (TypeId type : {TypeId::I2_S, TypeId::TQ1_0, TypeId::TQ2_0, TypeId::TL1, TypeId::TL2, TypeId::F32, TypeId::F16,
                        TypeId::BF16, int_group_type_id(2, false, 32)}) {
        SCOPED_TRACE(std::string(weight_type(type).name));
        const auto path = write(ref, type, "types");
        const auto model = llm::Model::load(path);
        std::filesystem::remove(path);
        const std::vector<int32_t> tokens = greedy_lowbit(*model, kPrompt, 32, 2);
        if (first.empty()) {
            first = tokens;
        } else {
            EXPECT_EQ(tokens, first);
        }
    }
}

// 1 and 2 threads give bit-identical logits.
TEST(Forward, ThreadCountDoesNotChangeLogits) {
    const ReferenceModel ref = make_reference_model(tiny_shape("bitnet-b1.58"), 17);
    const auto path = write(ref, TypeId::I2_S, "threads");
    const auto model = llm::Model::load(path);
    std::filesystem::remove(path);
    std::vector<float> a, b;
    {
        ThreadPool pool(1);
        llm::Session ctx(*model, pool, {64});
        ctx.eval(kPrompt, a, true);
    }
    {
        ThreadPool pool(2);
        llm::Session ctx(*model, pool, {64});
        ctx.eval(kPrompt, b, true);
    }
    EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace lowbit::test
