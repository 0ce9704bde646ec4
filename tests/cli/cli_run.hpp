// Runs the built `lowbit` tool (LOWBIT_CLI_PATH) through the shell and captures its exit
// status, stdout and stderr, for the end-to-end CLI tests.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "io/io_test_util.hpp"

namespace lowbit::test {

struct CliRun {
    int status = -1;  // the exit status; -1 when the process died of a signal
    std::string out;
    std::string err;
};

inline std::string quoted(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// `args` is shell text: quote paths and values with quoted().
inline CliRun lowbit(const TempDir& dir, const std::string& args) {
    const std::string err_file = (dir / "stderr.txt").string();
    const std::string cmd = quoted(LOWBIT_CLI_PATH) + " " + args + " 2>" + quoted(err_file);
    CliRun r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return r;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = ::pclose(p);
    r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    const auto err = read_file(err_file);
    r.err.assign(err.begin(), err.end());
    return r;
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace lowbit::test
