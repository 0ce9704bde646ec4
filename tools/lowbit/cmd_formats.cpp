// `lowbit formats`: the weight-type registry as a table.
#include <fmt/core.h>

#include <memory>
#include <string>

#include "commands.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::cli {
namespace {

std::string isa_list(const WeightType& t) {
    std::string out;
    for (std::size_t i = 0; i < kIsaCount; ++i) {
        const Kernels& k = t.isa[i];
        if (k.quantize || k.dequantize || k.gemv_i8) {
            out += out.empty() ? "" : ",";
            out += isa_name(static_cast<Isa>(i));
        }
    }
    return out;
}

void print_formats(bool with_layout) {
    const std::span<const WeightType> types = weight_types();  // may throw (e.g. a bad LOWBIT_ISA)
    fmt::print("{:<15} {:>5} {:>7} {:>6} {:>6}  {:<8} {}\n", "type", "id", "bits/w", "block", "bytes",
               "ternary", "implementations");
    for (const WeightType& t : types) {
        fmt::print("{:<15} {:>5} {:>7.4f} {:>6} {:>6}  {:<8} {}\n", t.name, static_cast<uint32_t>(t.id),
                   t.bits_per_weight, t.block_elems, t.block_bytes, t.ternary ? "yes" : "no", isa_list(t));
        if (with_layout) {
            fmt::print("{:<15} {}\n", "", t.layout);
        }
    }
}

}  // namespace

void add_formats_command(CLI::App& app) {
    auto* cmd = app.add_subcommand("formats", "List the weight types: bits/weight, block, type id, ISAs");
    auto layout = std::make_shared<bool>(false);
    cmd->add_flag("--layout", *layout, "Also print where each type keeps its codes and scales");
    cmd->callback([layout] { print_formats(*layout); });
}

}  // namespace lowbit::cli
