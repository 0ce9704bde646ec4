// Sequence (sequence.hpp): one request's stop rules, text release and cancellation, driven by
// logits made to pick given tokens, with the bundled model's tokenizer.
#include "lowbit/sequence.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "lowbit/error.hpp"
#include "lowbit/gguf_reader.hpp"

namespace lowbit::test {
namespace {

const Tokenizer& tokenizer() {
    static const Tokenizer t = [] {
        const GgufFile file = GgufFile::open(std::filesystem::path(LOWBIT_TINY_BITNET_DIR) / "tiny-bitnet.gguf");
        return Tokenizer(file.metadata());
    }();
    return t;
}

// Logits that make greedy sampling pick `id`.
std::vector<float> picking(int32_t id) {
    std::vector<float> l(static_cast<std::size_t>(tokenizer().vocab_size()), 0.0f);
    l[static_cast<std::size_t>(id)] = 10.0f;
    return l;
}

llm::GenerateOptions greedy(int n_predict) {
    llm::GenerateOptions o;
    o.n_predict = n_predict;
    o.sampling.temperature = 0;
    return o;
}

// Steps through `ids` (logits picking each in turn) until the sequence is done.
std::vector<llm::StepResult> run(llm::Sequence& s, const std::vector<int32_t>& ids) {
    std::vector<llm::StepResult> out;
    for (int32_t id : ids) {
        std::vector<float> l = picking(id);
        out.push_back(s.step(l));
        if (out.back().done) break;
    }
    return out;
}

const std::vector<int32_t> kPrompt = {1, 2, 3};

TEST(Sequence, BudgetEndsAfterTheLastToken) {
    const std::vector<int32_t> ids = tokenizer().encode("Hello there world", false, false);
    ASSERT_GE(ids.size(), 3u);
    llm::Sequence s(tokenizer(), kPrompt, greedy(2), 100);
    const auto steps = run(s, ids);
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_FALSE(steps[0].done);
    EXPECT_TRUE(steps[1].done);
    EXPECT_EQ(steps[1].reason, llm::StopReason::budget);
    EXPECT_EQ(s.generated(), std::vector<int32_t>(ids.begin(), ids.begin() + 2));
    EXPECT_EQ(s.text(), tokenizer().decode(s.generated()));
}

TEST(Sequence, EndOfGenerationTokenIsNotKept) {
    llm::Sequence s(tokenizer(), kPrompt, greedy(10), 100);
    const auto steps = run(s, {65, tokenizer().eos()});
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(steps[1].reason, llm::StopReason::end_of_generation);
    EXPECT_EQ(steps[1].token, tokenizer().eos());
    EXPECT_EQ(s.generated(), std::vector<int32_t>{65});
}

TEST(Sequence, IgnoreEosSamplesAnotherToken) {
    llm::GenerateOptions o = greedy(3);
    o.ignore_eos = true;
    llm::Sequence s(tokenizer(), kPrompt, o, 100);
    std::vector<float> l = picking(tokenizer().eos());
    l[70] = 5.0f;  // the best token that does not end the generation
    const llm::StepResult r = s.step(l);
    EXPECT_EQ(r.token, 70);
    EXPECT_FALSE(r.done);
}

// A stop string split across tokens: nothing of it is released, the text before it is.
TEST(Sequence, StopStringAcrossTokensIsHeldBackAndDropped) {
    const std::string text = "Hello there world";
    const std::vector<int32_t> ids = tokenizer().encode(text, false, false);
    ASSERT_GE(ids.size(), 3u);
    llm::GenerateOptions o = greedy(50);
    o.stop = {"lo th"};
    llm::Sequence s(tokenizer(), kPrompt, o, 100);
    std::string released;
    for (const auto& step : run(s, ids)) {
        released += step.text;
        EXPECT_EQ(released.find("lo"), std::string::npos) << "released the start of the stop string: " << released;
    }
    EXPECT_TRUE(s.done());
    EXPECT_EQ(s.reason(), llm::StopReason::stop_string);
    EXPECT_EQ(released, "Hel");
    EXPECT_EQ(s.text(), "Hel");
}

TEST(Sequence, ContextFullWhenTheNextTokenHasNoPosition) {
    // 3 prompt positions + room for 2 more: the third generated token cannot be evaluated
    llm::Sequence s(tokenizer(), kPrompt, greedy(50), 5);
    const auto steps = run(s, {65, 66, 67, 68});
    ASSERT_EQ(steps.size(), 3u);
    EXPECT_EQ(steps[2].reason, llm::StopReason::context_full);
    EXPECT_EQ(s.generated().size(), 3u);
}

TEST(Sequence, CancelFromAnotherThreadEndsTheNextStep) {
    llm::Sequence s(tokenizer(), kPrompt, greedy(-1), 1 << 20);
    std::atomic<int> steps{0};
    std::thread canceller([&] {
        while (steps.load() < 5) std::this_thread::yield();
        s.cancel();
    });
    llm::StepResult last;
    while (!last.done) {
        std::vector<float> l = picking(65);
        last = s.step(l);
        ++steps;
    }
    canceller.join();
    EXPECT_EQ(last.reason, llm::StopReason::cancelled);
    EXPECT_EQ(last.token, -1);
    EXPECT_GE(s.generated().size(), 5u);
}

TEST(Sequence, MisuseIsAnErrorNamingNoFlag) {
    llm::GenerateOptions bad = greedy(4);
    bad.sampling.temperature = -1;
    try {
        llm::Sequence s(tokenizer(), kPrompt, bad, 100);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::bad_argument);
        EXPECT_EQ(e.field(), "temperature");
        EXPECT_EQ(std::string(e.what()).find("--"), std::string::npos) << e.what();
    }
    EXPECT_THROW(llm::Sequence(tokenizer(), {}, greedy(4), 100), Error);  // no prompt
    try {
        llm::Sequence s(tokenizer(), kPrompt, greedy(4), 2);  // the prompt does not fit
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::context_full);
    }
    llm::Sequence s(tokenizer(), kPrompt, greedy(1), 100);
    run(s, {65});
    ASSERT_TRUE(s.done());
    std::vector<float> l = picking(65);
    EXPECT_THROW(s.step(l), Error);
}

}  // namespace
}  // namespace lowbit::test
