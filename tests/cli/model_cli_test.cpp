// The model commands end to end: make-model, run (text, JSON, receipt), score, and their
// errors. The bundled trained model (models/tiny-bitnet) ties the CLI to PyTorch's outputs
// recorded in its parity fixture.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/cli_run.hpp"
#include "io/io_test_util.hpp"

namespace lowbit::test {
namespace {

const std::filesystem::path kTiny = LOWBIT_TINY_BITNET_DIR;

nlohmann::json fixture() {
    std::ifstream in(kTiny / "parity_fixture.json");
    return nlohmann::json::parse(in);
}

nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

TEST(ModelCli, RunGreedyGivesPyTorchsContinuation) {
    TempDir dir;
    const auto f = fixture();
    const auto& p = f["prompts"][0];
    const std::string model = (kTiny / "tiny-bitnet.gguf").string();
    const CliRun r = lowbit(dir, "run -t 1 --temp 0 -n 32 --cache-type f32 --json -m " + quoted(model) + " -p " +
                                     quoted(p["text"].get<std::string>()));
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const auto want = p["greedy"]["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(j["tokens"].get<std::vector<int32_t>>(), std::vector<int32_t>(want.begin(), want.begin() + 32));
    EXPECT_EQ(j["prompt_tokens"].get<int>(), static_cast<int>(p["ids"].size()));
    EXPECT_EQ(j["stop_reason"], "budget");
}

// The prompt fed one token per step gives the same tokens as in one step (decode() gives every
// token the same logits whatever batch it is in; tests/llm/decode_test.cpp checks the bits).
TEST(ModelCli, RunInOneTokenStepsGivesTheSameTokens) {
    TempDir dir;
    const std::string model = (kTiny / "tiny-bitnet.gguf").string();
    const std::string cmd = "run -t 2 --temp 0 -n 24 --json -m " + quoted(model) + " -p " + quoted("Q: What is the answer?");
    const CliRun whole = lowbit(dir, cmd);
    const CliRun steps = lowbit(dir, cmd + " -b 1");
    ASSERT_EQ(whole.status, 0) << whole.err;
    ASSERT_EQ(steps.status, 0) << steps.err;
    EXPECT_EQ(nlohmann::json::parse(whole.out)["tokens"], nlohmann::json::parse(steps.out)["tokens"]);
}

// Library errors name the argument; the CLI says which flag set it.
TEST(ModelCli, ErrorsNameTheFlag) {
    TempDir dir;
    const std::string model = (kTiny / "tiny-bitnet.gguf").string();
    const CliRun temp = lowbit(dir, "run --temp -1 -n 2 -m " + quoted(model) + " -p hi");
    EXPECT_EQ(temp.status, 1);
    EXPECT_TRUE(contains(temp.err, "--temp: temperature must be >= 0")) << temp.err;
    const CliRun full = lowbit(dir, "run -c 16 -n 2 -m " + quoted(model) + " -p " +
                                        quoted("a rather long prompt that does not fit into sixteen tokens of context"));
    EXPECT_EQ(full.status, 1);
    EXPECT_TRUE(contains(full.err, "context is full")) << full.err;
    EXPECT_TRUE(contains(full.err, "(raise --ctx)")) << full.err;
}

TEST(ModelCli, ScoreMatchesPyTorchPerplexity) {
#if defined(LOWBIT_SANITIZED)
    // 47k tokens take a minute under ASan; the release run checks the figure, and the
    // perplexity code runs under the sanitizers in ModelCli.ScoreRunsOnAShortText.
    GTEST_SKIP() << "the release build checks the held-out perplexity";
#endif
    TempDir dir;
    const auto f = fixture();
    const auto& want = f["perplexity"];
    const CliRun r = lowbit(dir, "score -t 1 --json -w " + std::to_string(want["window"].get<int>()) + " -m " +
                                     quoted((kTiny / "tiny-bitnet.gguf").string()) + " -f " +
                                     quoted((kTiny / want["text_file"].get<std::string>()).string()));
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["tokens"].get<int64_t>(), want["n_tokens"].get<int64_t>());
    EXPECT_EQ(j["scored_tokens"].get<int64_t>(), want["n_scored"].get<int64_t>());
    const double ppl = j["perplexity"], torch = want["ppl"];
    EXPECT_LE(std::fabs(ppl / torch - 1.0), 0.01) << "lowbit " << ppl << ", PyTorch " << torch;
}

TEST(ModelCli, ScoreRunsOnAShortText) {
    TempDir dir;
    write_text(dir / "short.txt", "Q: What do you get when you cross a fortune with a cookie?\nA: A fortune cookie.\n");
    const CliRun r = lowbit(dir, "score -t 2 -w 16 --json -m " + quoted((kTiny / "tiny-bitnet.gguf").string()) +
                                     " -f " + quoted((dir / "short.txt").string()));
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["window"].get<int>(), 16);
    EXPECT_EQ(j["scored_tokens"].get<int64_t>(), j["tokens"].get<int64_t>() - j["windows"].get<int64_t>());
    // a trained model is far better than uniform over its 2048 tokens on corpus-like text
    EXPECT_GT(j["perplexity"].get<double>(), 1.0);
    EXPECT_LT(j["perplexity"].get<double>(), 2048.0);
}

// bench generate pairs each tg run with a read-bandwidth measurement taken right after it; the
// fractions it reports are recomputed here from its own figures.
TEST(ModelCli, BenchGenerateComparesEachRunWithTheBandwidthOfItsMoment) {
    TempDir dir;
    const std::string model = quoted((kTiny / "tiny-bitnet.gguf").string());
    const CliRun r = lowbit(dir, "bench generate -t 2 -p 8 -n 4 -r 2 --json -m " + model);
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    const auto tg = j["tg"]["tokens_per_second"].get<std::vector<double>>();
    const auto read = j["read_bandwidth_bytes_per_second"].get<std::vector<double>>();
    const auto fraction = j["effective_fraction_of_read_bandwidth"].get<std::vector<double>>();
    ASSERT_EQ(tg.size(), 2u);
    ASSERT_EQ(read.size(), 2u);
    ASSERT_EQ(fraction.size(), 2u);
    EXPECT_EQ(j["pp"]["tokens_per_second"].size(), 2u);
    const double bytes = j["bytes_per_token"];
    EXPECT_GE(bytes, static_cast<double>(std::filesystem::file_size(kTiny / "tiny-bitnet.gguf")) / 2);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_GT(read[i], 1e8);
        EXPECT_NEAR(fraction[i], bytes * tg[i] / read[i], 1e-9 * fraction[i]);
    }
    EXPECT_NEAR(j["effective_fraction_median"].get<double>(), (fraction[0] + fraction[1]) / 2, 1e-12);
    EXPECT_GT(j["peak_rss_bytes"].get<double>(), 0);

    const CliRun quick = lowbit(dir, "bench generate -t 1 -p 0 -n 2 -r 1 --no-bandwidth --json -m " + model);
    ASSERT_EQ(quick.status, 0) << quick.err;
    const auto q = nlohmann::json::parse(quick.out);
    EXPECT_TRUE(q["read_bandwidth_bytes_per_second"].empty());
    EXPECT_TRUE(q["pp"]["tokens_per_second"].empty());
    EXPECT_EQ(q["tg"]["tokens_per_second"].size(), 1u);
}

// The receipt names the kernels at the level that ran them: forcing a level with LOWBIT_ISA, as
// a user would, shows in it, and every level gives the same greedy tokens.
TEST(ModelCli, ReceiptNamesTheLevelThatRan) {
    TempDir dir;
    const std::string model = (dir / "m.gguf").string();
    ASSERT_EQ(lowbit(dir, "make-model --preset tiny --seed 3 -o " + quoted(model)).status, 0);
    nlohmann::json first_tokens;
    for (const std::string level : {"scalar", "avx2"}) {
        const auto receipt = dir / ("receipt_" + level + ".json");
        const auto out = dir / ("out_" + level + ".json");
        const std::string cmd = "env LOWBIT_ISA=" + level + " " + quoted(LOWBIT_CLI_PATH) +
                                " run -t 1 --temp 0 -n 4 -p hello --json -m " + quoted(model) + " --receipt " +
                                quoted(receipt.string()) + " >" + quoted(out.string());
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        const auto j = read_json(receipt);
        EXPECT_EQ(j["build"]["isa_selected"], level);
        ASSERT_FALSE(j["kernels_invoked"].empty());
        for (const auto& [name, calls] : j["kernels_invoked"].items()) {
            EXPECT_TRUE(name.ends_with("/" + level)) << name << " under LOWBIT_ISA=" << level;
            EXPECT_GT(calls.get<int64_t>(), 0);
        }
        const auto tokens = read_json(out)["tokens"];
        EXPECT_EQ(tokens.size(), 4u);
        if (first_tokens.is_null()) first_tokens = tokens;
        EXPECT_EQ(tokens, first_tokens) << level;
    }
}

TEST(ModelCli, ErrorsNameTheFileAndLeaveNothingBehind) {
    TempDir dir;
    // a truncated model
    const std::string model = (dir / "m.gguf").string();
    ASSERT_EQ(lowbit(dir, "make-model --preset tiny -o " + quoted(model)).status, 0);
    const std::string cut = (dir / "cut.gguf").string();
    std::filesystem::copy_file(model, cut);
    std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
    const CliRun truncated = lowbit(dir, "run -m " + quoted(cut) + " -p hi -n 2");
    EXPECT_EQ(truncated.status, 1);
    EXPECT_TRUE(contains(truncated.err, "cut.gguf")) << truncated.err;

    // not a model at all
    write_text(dir / "text.gguf", "hello");
    const CliRun text = lowbit(dir, "score -m " + quoted((dir / "text.gguf").string()) + " -f " +
                                        quoted((dir / "text.gguf").string()));
    EXPECT_EQ(text.status, 1);
    EXPECT_TRUE(contains(text.err, "text.gguf")) << text.err;

    // an output folder that does not exist: an error, and no partial file anywhere
    const CliRun no_dir = lowbit(dir, "make-model --preset tiny -o " + quoted((dir / "missing" / "x.gguf").string()));
    EXPECT_NE(no_dir.status, 0);
    EXPECT_FALSE(std::filesystem::exists(dir / "missing"));

    // an unknown weight type is named
    const CliRun bad_type = lowbit(dir, "make-model --type Q9_9 -o " + quoted((dir / "y.gguf").string()));
    EXPECT_NE(bad_type.status, 0);
    EXPECT_TRUE(contains(bad_type.err, "Q9_9")) << bad_type.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "y.gguf"));
}

}  // namespace
}  // namespace lowbit::test
