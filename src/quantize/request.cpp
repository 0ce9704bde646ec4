#include "lowbit/quantize_request.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <initializer_list>

#include "lowbit/error.hpp"
#include "lowbit/weight_type.hpp"

namespace lowbit::quantize {
namespace {

struct Profile {
    const char* name;
    int bits;
    int group;
    double min_cosine;
};
// ../shared/spec/quantizer.md's profiles
constexpr Profile kProfiles[] = {{"edge", 2, 256, 0.65}, {"local", 4, 128, 0.85}, {"cloud", 8, 64, 0.95}};

void require_one_of(const std::string& field, const std::string& value, std::initializer_list<const char*> allowed) {
    std::string list;
    for (const char* a : allowed) {
        if (value == a) return;
        list += concat(list.empty() ? "" : ", ", a);
    }
    fail_field(field, "'", value, "' is not one of ", list);
}

}  // namespace

uint64_t parse_size(std::string_view text, const std::string& field) {
    const std::string s(text);
    std::size_t used = 0;
    double value = 0;
    try {
        value = std::stod(s, &used);
    } catch (const std::exception&) {
        fail_field(field, "'", s, "' is not a size such as 512M or 2G");
    }
    std::string unit = s.substr(used);
    for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (unit.ends_with("IB")) unit.resize(unit.size() - 2);
    else if (unit.size() == 2 && unit.back() == 'B') unit.resize(1);
    const std::string units = "KMGT";
    double scale = 1;
    if (unit.size() == 1 && units.find(unit[0]) != std::string::npos) {
        scale = std::pow(1024.0, static_cast<double>(units.find(unit[0]) + 1));
    } else if (!unit.empty() && unit != "B") {
        fail_field(field, "'", s, "' is not a size such as 512M or 2G");
    }
    if (!(value > 0) || value * scale > 1e18) fail_field(field, "'", s, "' must be a positive size");
    return static_cast<uint64_t>(value * scale);
}

CalibrationOptions resolve_calibration(const Request& r) {
    CalibrationOptions c;
    c.stats = r.calib;
    c.act_bits = r.act_bits.value_or(8);
    if (c.act_bits != 0 && (c.act_bits < 2 || c.act_bits > 8)) fail_field("act_bits", c.act_bits, " is not in 2..8 (or 0: none)");
    c.time_groups = r.time_groups.value_or(1);
    if (c.time_groups < 1) fail_field("time_groups", c.time_groups, " must be at least 1");
    if (!r.time_split.empty()) require_one_of("time_split", r.time_split, {"uniform", "dp"});
    c.time_split = r.time_split == "dp" ? TimeSplit::dp : TimeSplit::uniform;
    if (r.awq && !r.smooth_alpha.empty()) fail_field("awq", "excludes smooth_alpha: choose one channel scaling");
    if (r.awq) c.scaling = ChannelScaling::awq;
    if (r.smooth_alpha == "auto") {
        c.scaling = ChannelScaling::smooth_auto;
    } else if (!r.smooth_alpha.empty()) {
        char* end = nullptr;
        c.smooth_alpha = std::strtod(r.smooth_alpha.c_str(), &end);
        if (end == r.smooth_alpha.c_str() || *end != '\0' || !(c.smooth_alpha >= 0 && c.smooth_alpha <= 1)) {
            fail_field("smooth_alpha", "'", r.smooth_alpha, "' is not a number in [0, 1] or auto");
        }
        c.scaling = ChannelScaling::smooth;
    }
    return c;
}

Options resolve(const Request& r, const std::atomic<bool>* cancel) {
    require_one_of("profile", r.profile, {"edge", "local", "cloud"});
    require_one_of("nan", r.nan, {"error", "zero"});
    require_one_of("mode", r.mode, {"streaming", "batch"});
    require_one_of("ternarize", r.ternarize, {"absmean", "none"});
    if (!r.out_format.empty()) require_one_of("out_format", r.out_format, {"gguf", "safetensors"});
    if (!r.bits.empty()) require_one_of("bits", r.bits, {"2", "4", "8", "auto"});
    if (r.group != 0 && r.group != 32 && r.group != 64 && r.group != 128 && r.group != 256) {
        fail_field("group_size", r.group, " is not one of 32, 64, 128, 256");
    }
    if (!r.type.empty() && (!r.bits.empty() || r.group != 0 || r.asym)) {
        fail_field("type", "a type (", r.type, ") excludes bits, group size and asym, which choose an INTn type");
    }
    if (r.min_cosine && !(*r.min_cosine >= 0 && *r.min_cosine <= 1)) {
        fail_field("min_cosine", *r.min_cosine, " is not in [0, 1]");
    }
    if (r.output.empty() && !r.dry_run) fail_field("output", "an output file is required (or a dry run)");
    if (r.shards < 1 || r.shards > 99999) fail_field("shards", r.shards, " is not in 1..99999");
    if (r.calib.empty()) {
        const char* needs = r.act_bits                ? "act_bits"
                            : r.time_groups           ? "time_groups"
                            : !r.time_split.empty()   ? "time_split"
                            : !r.smooth_alpha.empty() ? "smooth_alpha"
                            : r.awq                   ? "awq"
                                                      : nullptr;
        if (needs != nullptr) fail_field(needs, "needs calibration statistics (calib)");
    }

    Options q;
    q.input = r.input;
    q.output = r.output;
    const std::string out_format = !r.out_format.empty()                 ? r.out_format
                                   : r.output.ends_with(".safetensors") ? "safetensors"
                                                                        : "gguf";
    q.out_format = out_format == "safetensors" ? OutFormat::safetensors : OutFormat::gguf;
    if (r.shards > 1 && q.out_format != OutFormat::gguf) {
        fail_field("shards", "a split set is written for GGUF output only (so far)");
    }
    q.shards = r.shards;
    q.mode = r.mode == "batch" ? Mode::batch : Mode::streaming;
    q.ternarize = r.ternarize == "none" ? Ternarize::none : Ternarize::absmean;
    if (!r.max_memory.empty()) q.max_memory = parse_size(r.max_memory, "max_memory");
    q.keep = r.keep;
    q.strict = r.strict;
    q.dry_run = r.dry_run;
    q.nan = r.nan == "zero" ? NanPolicy::zero : NanPolicy::error;
    q.cancel = cancel;
    const Profile* profile = &kProfiles[1];
    for (const Profile& p : kProfiles) {
        if (r.profile == p.name) profile = &p;
    }
    if (!r.type.empty()) {
        const WeightType* t = find_weight_type(r.type);
        if (t == nullptr) fail_field("type", "'", r.type, "' is not a weight type (see `lowbit formats`)");
        q.type = t->id;
        q.min_cosine = r.min_cosine;  // an explicit type falls back only when asked
    } else {
        q.auto_bits = r.bits == "auto";
        const int bits = r.bits.empty() || q.auto_bits ? profile->bits : std::stoi(r.bits);
        q.type = int_group_type_id(bits, r.asym, r.group ? r.group : profile->group);
        q.min_cosine = r.min_cosine ? r.min_cosine : profile->min_cosine;
    }
    if (q.min_cosine && *q.min_cosine <= 0) q.min_cosine.reset();
    for (const std::string& rule : r.tensor_types) {
        const std::size_t eq = rule.rfind('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == rule.size()) {
            fail_field("tensor_types", "'", rule, "' is not REGEX=TYPE");
        }
        const WeightType* t = find_weight_type(rule.substr(eq + 1));
        if (t == nullptr) fail_field("tensor_types", "'", rule.substr(eq + 1), "' is not a weight type (see `lowbit formats`)");
        q.tensor_types.push_back({rule.substr(0, eq), t->id});
    }
    if (!r.calib.empty()) q.calibration = resolve_calibration(r);
    return q;
}

}  // namespace lowbit::quantize
