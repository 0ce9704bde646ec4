#include "calibration_plan.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "lowbit/error.hpp"

namespace lowbit::quantize {
namespace {

const char* scaling_name(ChannelScaling s) {
    switch (s) {
        case ChannelScaling::smooth:
            return "smooth";
        case ChannelScaling::smooth_auto:
            return "smooth-auto";
        case ChannelScaling::awq:
            return "awq";
        default:
            return "none";
    }
}

}  // namespace

std::vector<float>& CalibrationPlan::added(const std::string& name) { return added_.at(name); }

CalibrationPlan::CalibrationPlan(const CalibrationOptions& o, std::vector<SourceTensor>& tensors, Report& report)
    : options_(o), tensors_(tensors), stats_(read_calibration(o.stats)) {
    const int64_t T = stats_.steps(), G = o.time_groups;
    if (G < 1) fail_field("time_groups", G, " must be at least 1");
    if (G > 1 && !stats_.has_timesteps) {
        fail_field("time_groups", stats_.file, " was collected without timesteps (one group): --time-groups ", G,
                   " needs statistics per timestep (collect(..., timesteps=...))");
    }
    if (G > T) fail_field("time_groups", G, " groups for the ", T, " timesteps of ", stats_.file);
    if (o.act_bits != 0 && (o.act_bits < 2 || o.act_bits > 8)) fail_field("act_bits", o.act_bits, " is not in 2..8 (or 0)");

    const std::size_t model_tensors = first_added_ = tensors.size();
    std::map<std::string, std::size_t> by_name;
    for (std::size_t i = 0; i < model_tensors; ++i) {
        by_name[tensors[i].source_name] = i;
        by_name[tensors[i].name] = i;
    }
    const std::string model = tensors.empty() ? std::string("the model") : tensors.front().file;
    for (const LayerStats& l : stats_.layers) {
        const auto it = by_name.find(l.weight);
        if (it == by_name.end()) {
            fail_as(ErrorCode::bad_argument, stats_.file, ": layer '", l.layer, "': its weight '", l.weight,
                    "' is not a tensor of ", model, " (statistics of another model?)");
        }
        const SourceTensor& t = tensors[it->second];
        if (t.cols != l.cols) {
            fail_as(ErrorCode::bad_argument, stats_.file, ": layer '", l.layer, "' has ", l.channels,
                    " input channels (", l.cols, " weight columns), but ", t.where(), " has ", t.cols,
                    " columns (statistics of another model?)");
        }
        layer_of_[it->second] = &l;
        inputs_[l.input].members.push_back(it->second);
    }
    for (auto& [input, group] : inputs_) std::sort(group.members.begin(), group.members.end());

    if (o.time_split == TimeSplit::dp && G > 1) {
        std::vector<std::vector<Range>> ranges;
        for (const LayerStats& l : stats_.layers) {
            ranges.push_back(step_ranges(l, std::vector<float>(static_cast<std::size_t>(l.channels), 1)));
        }
        group_of_step_ = spread_minimising_groups(ranges, G);
        report.time_group_spread = group_spread(ranges, group_of_step_);
        report.one_group_spread = group_spread(ranges, std::vector<int32_t>(static_cast<std::size_t>(T), 0));
    } else {
        group_of_step_ = uniform_groups(T, G);
    }
    report.timestep_groups = group_of_step_;

    // the added tensors, F32, after the model's
    const WeightType& f32 = weight_type(TypeId::F32);
    const auto add = [&](const std::string& name, std::vector<int64_t> ne, std::vector<float> init) {
        if (by_name.count(name) != 0) {
            fail_as(ErrorCode::bad_argument, model, ": already has a tensor '", name,
                    "', which calibration would write; was it quantized with --calib before?");
        }
        std::vector<float>& data = added_[name] = std::move(init);
        SourceTensor s;
        s.name = s.source_name = name;
        s.file = stats_.file;
        s.ne = std::move(ne);
        s.cols = s.ne[0];
        s.rows = static_cast<int64_t>(data.size()) / s.cols;
        s.type_name = f32.name;
        s.data = {reinterpret_cast<const uint8_t*>(data.data()), data.size() * sizeof(float)};
        s.weight = {&f32, WeightView{s.data.data(), s.rows, s.cols}};
        s.gguf_type_id = static_cast<uint32_t>(TypeId::F32);
        tensors.push_back(std::move(s));
    };
    for (const auto& [index, l] : layer_of_) {
        (void)index;
        if (o.act_bits != 0) {
            add(l->prefix() + ".act_scale", {G}, std::vector<float>(static_cast<std::size_t>(G), 1));
            add(l->prefix() + ".act_zero", {G}, std::vector<float>(static_cast<std::size_t>(G), 0));
        }
        if (o.scaling != ChannelScaling::none) {
            add(l->prefix() + ".smooth_scale", {l->channels}, std::vector<float>(static_cast<std::size_t>(l->channels), 1));
        }
    }
    std::vector<float> table(stats_.timesteps);
    for (int32_t g : group_of_step_) table.push_back(static_cast<float>(g));
    add("timestep_groups", {T, 2}, std::move(table));
}

const LayerStats* CalibrationPlan::layer_of(std::size_t index) const {
    const auto it = layer_of_.find(index);
    return it == layer_of_.end() ? nullptr : it->second;
}

const SourceTensor& CalibrationPlan::prepare(std::size_t index, const TypeOf& types, const Options& options,
                                             ThreadPool& pool, TensorReport& report) {
    const SourceTensor& t = tensors_[index];
    const LayerStats& layer = *layer_of_.at(index);
    InputGroup& group = inputs_.at(layer.input);
    if (!group.choice) {  // the first of its layers: decide for all of them
        std::vector<LayerWeights> members;
        for (std::size_t m : group.members) {
            const SourceTensor& w = tensors_[m];
            std::vector<float>& floats = group.weights[m];
            floats.resize(static_cast<std::size_t>(w.elements()));
            decode_rows(w, 0, w.rows, floats.data());
            members.push_back({layer_of_.at(m), floats, w.rows, types(m)});
        }
        group.choice = choose_scaling(members, group_of_step_, options_.time_groups, options_, options, pool);
    }
    const LayerChoice& c = *group.choice;
    const std::size_t k = static_cast<std::size_t>(
        std::find(group.members.begin(), group.members.end(), index) - group.members.begin());
    for (std::size_t g = 0; g < (c.act.empty() ? 0 : c.act[k].size()); ++g) {
        added(layer.prefix() + ".act_scale")[g] = c.act[k][g].scale;
        added(layer.prefix() + ".act_zero")[g] = c.act[k][g].zero;
    }
    if (!c.smooth_scale.empty()) added(layer.prefix() + ".smooth_scale") = c.smooth_scale;
    report.calibration = c.report;
    std::vector<float> w = std::move(group.weights.at(index));
    group.weights.erase(index);
    const std::vector<float> no_clip;
    const std::vector<float>& clip = c.clip_bound.empty() ? no_clip : c.clip_bound[k];
    if (c.column_scale.empty() && clip.empty()) return t;
    scale_and_clip(w, t.rows, t.cols, c.column_scale, clip, types(index)->block_elems);
    scaled_ = std::move(w);
    const WeightType& f32 = weight_type(TypeId::F32);
    scaled_tensor_ = t;
    scaled_tensor_.permute_heads = 0;  // decode_rows gave the rows in output order
    scaled_tensor_.data = {reinterpret_cast<const uint8_t*>(scaled_.data()), scaled_.size() * sizeof(float)};
    scaled_tensor_.file_bytes = {};  // not a mapping: nothing to give back
    scaled_tensor_.weight = {&f32, WeightView{scaled_tensor_.data.data(), t.rows, t.cols}};
    return scaled_tensor_;
}

std::string CalibrationPlan::metadata_json() const {
    nlohmann::json j = {{"format", "lowbit.calibration/1"},
                        {"statistics", stats_.file},
                        {"act_bits", options_.act_bits},
                        {"act_quantization", "asymmetric per tensor: code = clamp(round(x / scale) + zero, 0, 2^bits - 1)"},
                        {"time_groups", options_.time_groups},
                        {"time_split", options_.time_split == TimeSplit::dp ? "dp" : "uniform"},
                        {"channel_scaling", scaling_name(options_.scaling)},
                        {"layers", nlohmann::json::object()}};
    for (const auto& [index, l] : layer_of_) {
        (void)index;
        j["layers"][l->layer] = {{"tensors", l->prefix()}, {"input", l->input}};
    }
    return j.dump();
}

}  // namespace lowbit::quantize
