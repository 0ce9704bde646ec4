// `lowbit quantize --calib`: the statistics matched to the model's tensors, the time split, the
// tensors calibration adds to the output (declared with the model's, filled as each layer is
// done) and the per-layer choice applied to the weight before it is encoded.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <map>
#include <string>
#include <vector>

#include "calibrated_layer.hpp"
#include "calibration.hpp"
#include "lowbit/quantize.hpp"
#include "tensor_source.hpp"

namespace lowbit::quantize {

class CalibrationPlan {
public:
    // Reads the statistics and checks them against `tensors` (an error naming the layer whose
    // weight is missing or whose columns differ; G larger than T; time groups without
    // timesteps); appends the tensors it will write: per layer <prefix>.act_scale and
    // <prefix>.act_zero [G] (with activation bits), <prefix>.smooth_scale [C] (with a channel
    // scaling; the same for layers that share an input), and one timestep_groups [2, T] (row 0
    // the timesteps, row 1 their group). `tensors` must outlive the plan.
    CalibrationPlan(const CalibrationOptions& options, std::vector<SourceTensor>& tensors, Report& report);
    CalibrationPlan(const CalibrationPlan&) = delete;
    CalibrationPlan& operator=(const CalibrationPlan&) = delete;

    // Whether tensors[index] is one this plan added (stored as it is).
    bool is_added(std::size_t index) const { return index >= first_added_; }
    // The layer whose weight tensors[index] is, or nullptr.
    const LayerStats* layer_of(std::size_t index) const;
    // Extra memory the choice holds for this tensor (its floats, scaled and decoded copies).
    static uint64_t work_bytes(const SourceTensor& t) { return uint64_t{16} * static_cast<uint64_t>(t.elements()); }

    // Chooses the scaling and activation parameters of the input tensors[index] reads (at its
    // first layer: for every layer that reads it, encoded as `types` says), fills them into
    // `report` and the added tensors, and returns what to encode: the tensor itself, or W
    // diag(s) held by this plan until the next call.
    using TypeOf = std::function<const WeightType*(std::size_t index)>;
    const SourceTensor& prepare(std::size_t index, const TypeOf& types, const Options& options, ThreadPool& pool,
                                TensorReport& report);

    // "lowbit.calibration": a JSON string for the output's metadata.
    std::string metadata_json() const;

private:
    std::vector<float>& added(const std::string& name);

    struct InputGroup {
        std::vector<std::size_t> members;  // tensor indices, in file order
        std::optional<LayerChoice> choice;
        std::map<std::size_t, std::vector<float>> weights;  // decoded for the choice, until encoded
    };

    CalibrationOptions options_;
    const std::vector<SourceTensor>& tensors_;
    Calibration stats_;
    std::map<std::string, InputGroup> inputs_;  // by the input's first layer
    std::vector<int32_t> group_of_step_;
    std::size_t first_added_ = 0;
    std::map<std::size_t, const LayerStats*> layer_of_;
    std::map<std::string, std::vector<float>> added_;  // node-based: the tensors' spans stay valid
    std::vector<float> scaled_;
    SourceTensor scaled_tensor_;
};

}  // namespace lowbit::quantize
