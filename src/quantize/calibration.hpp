// Calibration statistics (docs/QUANTIZE.md, "Calibration"): what `lowbit.calibrate.collect`
// records from a PyTorch model's forward hooks, read back for `lowbit quantize --calib`. Per
// hooked layer, per timestep (one when collected without timesteps) and per input channel, the
// absmax, min and max of the layer's input, and a bounded random sample of its input rows (for a
// convolution: patches, the columns of its weight seen as out x in*kh*kw).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lowbit::quantize {

struct LayerStats {
    std::string layer;   // the module's name
    std::string weight;  // the tensor that holds its weight ("<layer>.weight")
    std::string kind;    // "linear" or "conv2d"
    std::string input;   // the first layer that reads the same input (this one's name if none)
    int64_t channels = 0;  // input channels C
    int64_t cols = 0;      // weight columns K = C * kernel area (column k belongs to channel k / area)
    std::vector<float> absmax, min, max;  // [timesteps x C]
    std::vector<float> samples;           // [n_samples x K]
    std::vector<int32_t> sample_steps;    // [n_samples]: index into Calibration::timesteps
    int64_t n_samples = 0;

    int64_t area() const { return cols / channels; }
    // Where the output's tensors for this layer go: "<prefix>.smooth_scale", ... with the
    // weight's name less ".weight" ("blk.0.attn_q" for "blk.0.attn_q.weight").
    std::string prefix() const;
};

struct Calibration {
    std::string file;
    bool has_timesteps = false;   // false: one group, collected without timesteps
    std::vector<float> timesteps;  // the timesteps' values, in the order collected ({0} without)
    std::vector<LayerStats> layers;

    int64_t steps() const { return static_cast<int64_t>(timesteps.size()); }
};

// Throws lowbit::Error (bad_file) naming the file, layer and field: a missing or misshapen
// tensor, a layer table that does not parse, NaN or infinity in the statistics.
Calibration read_calibration(const std::filesystem::path& path);

}  // namespace lowbit::quantize
