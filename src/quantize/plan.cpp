#include "plan.hpp"

#include "lowbit/error.hpp"

namespace lowbit::quantize {
namespace {

std::regex compile(const std::string& pattern, const char* field) {
    try {
        return std::regex(pattern, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
        fail_field(field, "'", pattern, "' is not a valid regular expression (", e.what(), ")");
    }
}

}  // namespace

std::vector<const WeightType*> fallback_chain(const WeightType& planned) {
    std::vector<const WeightType*> chain = {&planned};
    const auto add = [&](TypeId id) { chain.push_back(&weight_type(id)); };
    const TypeId id = planned.id;
    if (is_int_group_type(id)) {
        const IntGroupParams p = int_group_params(id);
        for (int bits = 2 * p.bits; bits <= 8; bits *= 2) add(int_group_type_id(bits, p.asymmetric, p.group));
    } else if (id == TypeId::Q4_0 || id == TypeId::Q4_1 || id == TypeId::Q6_K) {
        add(TypeId::Q8_0);
    } else if (planned.bits_per_weight < 4) {  // the ternary and 2-bit block types
        add(TypeId::Q4_0);
        add(TypeId::Q8_0);
    }
    if (id != TypeId::F16 && id != TypeId::BF16 && id != TypeId::F32) add(TypeId::F16);
    return chain;
}

Policy::Policy(const Options& o) : default_type_(&weight_type(o.type)) {
    for (const std::string& k : o.keep) keep_.push_back(compile(k, "keep"));
    for (const TypeRule& r : o.tensor_types)
        rules_.push_back({compile(r.pattern, "tensor_types"), &weight_type(r.type)});
}

TensorPlan Policy::plan(const std::string& name, const std::vector<int64_t>& ne) const {
    TensorPlan p;
    int64_t non_unit = 0;
    for (int64_t d : ne) non_unit += d > 1 ? 1 : 0;
    if (non_unit < 2) {  // norms, biases, scales
        p.keep = true;
        return p;
    }
    // an explicit rule wins over --keep, which wins over the default type
    for (const Rule& r : rules_) {
        if (std::regex_search(name, r.re)) {
            p.candidates = fallback_chain(*r.type);
            return p;
        }
    }
    for (const std::regex& k : keep_) {
        if (std::regex_search(name, k)) {
            p.keep = true;
            return p;
        }
    }
    p.candidates = fallback_chain(*default_type_);
    return p;
}

}  // namespace lowbit::quantize
