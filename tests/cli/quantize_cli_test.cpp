// `lowbit quantize` end to end: the bundled model quantized and run, the report, bad
// arguments, a run killed (SIGKILL) or interrupted (SIGINT) mid-way or stopped by a full disk
// leaving the previous output as it was and nothing beside it, and `lowbit convert`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/cli_run.hpp"
#include "lowbit/gguf_writer.hpp"
#include "lowbit/safetensors.hpp"

namespace lowbit::test {
namespace {

const std::filesystem::path kTinyModel = std::filesystem::path(LOWBIT_TINY_BITNET_DIR) / "tiny-bitnet.gguf";

TEST(QuantizeCli, TheBundledModelQuantizedRunsAndTheReportIsJson) {
    TempDir dir;
    const std::string out = (dir / "q4.gguf").string();
    const CliRun q = lowbit(dir, "quantize -t 2 --type Q4_0 --keep token_embd " + quoted(kTinyModel.string()) + " " +
                                     quoted(out) + " --report " + quoted((dir / "r.json").string()));
    ASSERT_EQ(q.status, 0) << q.err;
    EXPECT_TRUE(contains(q.out, "blk.0.attn_q.weight")) << q.out;
    EXPECT_TRUE(contains(q.out, "68 tensors (0 fell back)")) << q.out;
    EXPECT_TRUE(contains(q.err, "quantize: [68/68] output_norm.weight F32"))
        << q.err;  // plain progress lines off a TTY
    std::ifstream f(dir / "r.json");
    const nlohmann::json j = nlohmann::json::parse(f);
    EXPECT_EQ(j["schema"], "lowbit.quantize-report/1");
    ASSERT_EQ(j["tensors"].size(), 68u);
    int q4 = 0;
    for (const auto& t : j["tensors"]) {
        if (t["type"] == "Q4_0") {
            ++q4;
            EXPECT_GT(t["cosine"].get<double>(), 0.9) << t;
        }
        if (t["name"] == "token_embd.weight") {
            EXPECT_TRUE(t["kept"].get<bool>());
        }
    }
    EXPECT_EQ(q4, 6 * 7);  // every linear of the 6 layers
    EXPECT_EQ(j["totals"]["output_bytes"].get<uint64_t>(), std::filesystem::file_size(out));

    const CliRun run = lowbit(dir, "run -t 2 -m " + quoted(out) + " -p 'Q: What do you get' -n 8 --temp 0");
    EXPECT_EQ(run.status, 0) << run.err;
    EXPECT_FALSE(run.out.empty());
}

TEST(QuantizeCli, BadArgumentsAreClearErrors) {
    TempDir dir;
    const std::string in = quoted(kTinyModel.string());
    CliRun r = lowbit(dir, "quantize " + in);
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "an output file is required")) << r.err;
    r = lowbit(dir, "quantize " + in + " " + in);
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "the output is the input model")) << r.err;
    r = lowbit(dir, "quantize " + in + " " + quoted((dir / "o.gguf").string()) + " --tensor-type ffn_down");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "--tensor-type: 'ffn_down' is not REGEX=TYPE")) << r.err;
    r = lowbit(dir, "quantize " + in + " " + quoted((dir / "o.gguf").string()) + " --keep '(['");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "--keep: '([' is not a valid regular expression")) << r.err;
    r = lowbit(dir, "quantize " + in + " " + quoted((dir / "o.gguf").string()) + " --type Q4_0 --bits 4");
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains(r.err, "excludes")) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "o.gguf"));
}

std::string matrix_name(int i) {
    std::string name = "m";
    name += std::to_string(i);
    return name;
}

// A model big enough to be stopped mid-way: 48 F32 matrices of 512 x 1024.
void write_big_model(const std::filesystem::path& path) {
    GgufWriter w(path);
    w.metadata().set("general.architecture", MetaValue(std::string("llama")));
    constexpr int kTensors = 48;
    for (int i = 0; i < kTensors; ++i) w.add_tensor(matrix_name(i), TypeId::F32, {1024, 512});
    std::vector<float> v(1024 * 512);
    uint32_t state = 1;
    for (int i = 0; i < kTensors; ++i) {
        for (float& x : v) {
            state = state * 1664525u + 1013904223u;
            x = static_cast<float>(static_cast<int32_t>(state)) / 2147483648.0f;
        }
        w.write_tensor(matrix_name(i), {reinterpret_cast<const uint8_t*>(v.data()), v.size() * 4});
    }
    w.finish();
}

// Starts `lowbit quantize`, waits for its first progress line, sends `sig`; returns the status.
// min_cosine "0": types known up front, tensors stream into the output; else through the spool.
int stop_mid_run(const TempDir& dir, int sig, const char* min_cosine, std::string& err) {
    int pipe_fd[2];
    if (::pipe(pipe_fd) != 0) return -2;
    const std::string in = (dir / "big.gguf").string(), out = (dir / "out.gguf").string();
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(pipe_fd[1], STDERR_FILENO);
        ::close(pipe_fd[0]);
        ::execl(LOWBIT_CLI_PATH, LOWBIT_CLI_PATH, "quantize", "-t", "1", "--bits", "2", "--min-cosine", min_cosine,
                in.c_str(), out.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(pipe_fd[1]);
    char buf[512];
    bool signalled = false;
    ssize_t n;
    while ((n = ::read(pipe_fd[0], buf, sizeof buf)) > 0) {
        err.append(buf, static_cast<std::size_t>(n));
        if (!signalled && contains(err, "quantize: [1/")) {
            ::kill(pid, sig);
            signalled = true;
        }
    }
    ::close(pipe_fd[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFSIGNALED(status)) return -WTERMSIG(status);
    return WEXITSTATUS(status);
}

std::vector<std::string> files_in(const TempDir& dir) {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

TEST(QuantizeCli, KilledOrInterruptedRunsLeaveThePreviousOutputAlone) {
    TempDir dir;
    write_big_model(dir / "big.gguf");
    for (const auto& [sig, min_cosine] :
         {std::pair{SIGKILL, "0.9999"}, std::pair{SIGINT, "0.9999"}, std::pair{SIGKILL, "0"}, std::pair{SIGINT, "0"}}) {
        {
            std::ofstream f(dir / "out.gguf");
            f << "the previous output";
        }
        std::string err;
        const int status = stop_mid_run(dir, sig, min_cosine, err);
        if (sig == SIGKILL) {
            EXPECT_EQ(status, -SIGKILL) << err;
        } else {
            EXPECT_EQ(status, 1) << err;
            EXPECT_TRUE(contains(err, "interrupted by SIGINT; nothing was written")) << err;
        }
        const auto bytes = read_file(dir / "out.gguf");
        EXPECT_EQ(std::string(bytes.begin(), bytes.end()), "the previous output") << strsignal(sig);
        EXPECT_EQ(files_in(dir), (std::vector<std::string>{"big.gguf", "out.gguf"}))
            << "left behind after " << strsignal(sig) << " with --min-cosine " << min_cosine;
    }
}


// A disk that fills mid-write (a file size limit: `ulimit -f`, in 512-byte blocks here, which
// makes write() fail with EFBIG): a clear error naming the output, exit 1, nothing left behind,
// the previous file intact. Both write paths: streaming and through the spool.
TEST(QuantizeCli, AFullDiskIsAClearErrorAndLeavesNothing) {
    TempDir dir;
    write_big_model(dir / "big.gguf");  // 96 MiB of F32: an INT8 output of about 26 MB
    for (const char* min_cosine : {"0", "0.5"}) {
        {
            std::ofstream f(dir / "out.gguf");
            f << "previous";
        }
        const std::string cmd = "ulimit -f 8192; exec " + quoted(LOWBIT_CLI_PATH) + " quantize -t 2 --bits 8 --min-cosine " +
                                min_cosine + " " + quoted((dir / "big.gguf").string()) + " " +
                                quoted((dir / "out.gguf").string());
        const CliRun full = lowbit(dir, "--version >/dev/null; (" + cmd + ")");
        EXPECT_EQ(full.status, 1) << full.err;
        EXPECT_TRUE(contains(full.err, "out.gguf")) << full.err;
        EXPECT_TRUE(contains(full.err, "File too large")) << full.err;
        const auto previous = read_file(dir / "out.gguf");
        EXPECT_EQ(std::string(previous.begin(), previous.end()), "previous") << min_cosine;
        EXPECT_EQ(files_in(dir), (std::vector<std::string>{"big.gguf", "out.gguf", "stderr.txt"})) << min_cosine;
    }
}

TEST(QuantizeCli, MaxMemoryAutoBitsAndSafeTensorsOutput) {
    TempDir dir;
    const std::string in = quoted(kTinyModel.string());
    CliRun r = lowbit(dir, "quantize " + in + " " + quoted((dir / "o.gguf").string()) + " --max-memory 1M");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "--max-memory: ")) << r.err;
    EXPECT_TRUE(contains(r.err, "tensor 'token_embd.weight': quantizing it holds about")) << r.err;
    EXPECT_TRUE(contains(r.err, "more than the limit of 1 MiB")) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "o.gguf"));
    r = lowbit(dir, "quantize " + in + " " + quoted((dir / "o.gguf").string()) + " --max-memory lots");
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "--max-memory: 'lots' is not a size")) << r.err;

    r = lowbit(dir, "quantize -t 2 --bits auto --max-memory 64M " + in + " " + quoted((dir / "auto.safetensors").string()) +
                        " --report " + quoted((dir / "r.json").string()));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(contains(r.out, "entropy 0.")) << r.out;
    const auto report = nlohmann::json::parse(read_file(dir / "r.json"));
    EXPECT_EQ(report["out_format"], "safetensors");
    const SafeTensorsFile st = SafeTensorsFile::open(dir / "auto.safetensors");
    const auto config = nlohmann::json::parse(st.metadata().at("quantization_config"));
    for (const auto& t : report["tensors"]) {
        const std::string name = t["name"];
        ASSERT_TRUE(config["tensors"].contains(name)) << name;
        EXPECT_EQ(config["tensors"][name]["type"], t["type"]) << name;
        if (t["kept"] == false) {
            const double e = t["entropy"];
            const int bits = e < 0.5 ? 8 : e < 0.7 ? 4 : 2;
            if (t["fallback"].is_null()) {
                EXPECT_EQ(config["tensors"][name]["bits"], bits) << name;
            }
            EXPECT_NE(st.find_tensor(name + ".qweight"), nullptr) << name;
        }
    }
}

// `lowbit convert` is the quantizer's code path: a Hugging Face folder written from the bundled
// model converts back to its tensors, and a bad folder is a clear error leaving nothing.
TEST(QuantizeCli, ConvertRunsThroughTheQuantizer) {
    TempDir dir;
    const std::filesystem::path hf = dir / "hf";
    std::filesystem::create_directory(hf);
    std::ofstream(hf / "config.json") << R"({"model_type": "gpt2", "vocab_size": 10})";
    CliRun r = lowbit(dir, "convert " + quoted(hf.string()) + " -o " + quoted((dir / "o.gguf").string()));
    EXPECT_EQ(r.status, 1);
    EXPECT_TRUE(contains(r.err, "config.json")) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "o.gguf"));
    r = lowbit(dir, "convert --help");
    EXPECT_TRUE(contains(r.out, "lowbit quantize")) << r.out;
}
}  // namespace
}  // namespace lowbit::test
