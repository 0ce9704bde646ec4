// `lowbit serve` through the official `openai` npm client (tests/server/openai_client.mjs, run
// with Node on the package scripts/install-test-oracle.sh puts in build/<preset>/npm).
#include <gtest/gtest.h>

#include <cstdio>

#include "cli/cli_run.hpp"
#include "server_fixture.hpp"

namespace lowbit::test {
namespace {

TEST(OpenAiClient, ChatCompletionsStreamingAndErrorTypes) {
    const std::filesystem::path prefix = LOWBIT_NPM_PREFIX;
    if (!std::filesystem::exists(prefix / "node_modules" / "openai" / "package.json")) {
        GTEST_FAIL() << "the openai npm package is not installed in " << prefix
                     << " (scripts/install-test-oracle.sh " << prefix.string() << ")";
    }
    RunningServer plain;
    server::ServerOptions keyed_options;
    keyed_options.api_key = "test-key";
    RunningServer keyed(keyed_options);
    server::ServerOptions busy_options;
    busy_options.parallel = 1;
    busy_options.queue = 0;
    RunningServer busy(busy_options);
    const std::string command = "node " + quoted(LOWBIT_OPENAI_CLIENT_SCRIPT) + " " + quoted(prefix.string()) + " " +
                                std::to_string(plain.port()) + " " + std::to_string(keyed.port()) + " test-key " +
                                std::to_string(busy.port()) + " 2>&1";
    FILE* p = ::popen(command.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = ::pclose(p);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
    EXPECT_NE(out.find("ok 429 is RateLimitError"), std::string::npos) << out;
    std::printf("%s", out.c_str());
}

}  // namespace
}  // namespace lowbit::test
