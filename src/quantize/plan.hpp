// The per-tensor policy of quantize.hpp: which tensors are kept as they are, which type each
// other tensor is planned as, and the types tried after it.
#pragma once

#include <regex>
#include <string>
#include <vector>

#include "lowbit/quantize.hpp"

namespace lowbit::quantize {

struct TensorPlan {
    bool keep = false;                          // stored as it is
    std::vector<const WeightType*> candidates;  // planned type first, then its fallbacks
};

class Policy {
public:
    explicit Policy(const Options& options);  // throws naming a bad regex
    // ne as GGUF stores it (ne[0] the row length).
    TensorPlan plan(const std::string& name, const std::vector<int64_t>& ne) const;

private:
    struct Rule {
        std::regex re;
        const WeightType* type;
    };
    std::vector<std::regex> keep_;
    std::vector<Rule> rules_;
    const WeightType* default_type_;
};

}  // namespace lowbit::quantize
