#include "calibration.hpp"

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "lowbit/error.hpp"
#include "lowbit/safetensors.hpp"

namespace lowbit::quantize {
namespace {

constexpr const char* kFormat = "lowbit.calibration/1";

// The tensor `name` of `file` as `expected` values of `dtype`, with `shape`; an error naming
// the file, layer and tensor otherwise.
template <class T>
std::vector<T> read_values(const SafeTensorsFile& file, const std::string& name, SafeDtype dtype,
                           const std::vector<int64_t>& shape) {
    const SafeTensor* t = file.find_tensor(name);
    if (t == nullptr) fail_as(ErrorCode::bad_file, file.source(), ": tensor '", name, "' is missing");
    if (t->dtype != dtype || t->shape != shape) {
        std::string want, got;
        for (int64_t d : shape) want += concat(want.empty() ? "" : ", ", d);
        for (int64_t d : t->shape) got += concat(got.empty() ? "" : ", ", d);
        fail_as(ErrorCode::bad_file, file.source(), ": tensor '", name, "' is ", safe_dtype_name(t->dtype), " [", got,
                "], expected ", safe_dtype_name(dtype), " [", want, "]");
    }
    const std::span<const uint8_t> bytes = file.tensor_data(*t);
    std::vector<T> values(bytes.size() / sizeof(T));
    std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
    if constexpr (std::is_floating_point_v<T>) {
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (!std::isfinite(values[i])) {
                fail_as(ErrorCode::bad_file, file.source(), ": tensor '", name, "' has ", values[i], " at element ", i,
                        " (statistics must be finite)");
            }
        }
    }
    return values;
}

int64_t json_int(const nlohmann::json& j, const char* key, const std::string& where) {
    if (!j.contains(key) || !j[key].is_number_integer() || j[key].get<int64_t>() <= 0) {
        fail_as(ErrorCode::bad_file, where, ": '", key, "' must be a positive integer");
    }
    return j[key].get<int64_t>();
}

}  // namespace

std::string LayerStats::prefix() const {
    constexpr std::string_view suffix = ".weight";
    return weight.ends_with(suffix) ? weight.substr(0, weight.size() - suffix.size()) : weight;
}

Calibration read_calibration(const std::filesystem::path& path) {
    const SafeTensorsFile file = SafeTensorsFile::open(path);
    Calibration c;
    c.file = file.source();
    const auto& md = file.metadata();
    const auto format = md.find("format");
    if (format == md.end() || format->second != kFormat) {
        fail_as(ErrorCode::bad_file, c.file, ": not calibration statistics (its metadata 'format' is not '", kFormat,
                "'; lowbit.calibrate.collect writes them)");
    }
    const auto layers = md.find("layers");
    nlohmann::json table;
    if (layers != md.end()) table = nlohmann::json::parse(layers->second, nullptr, false);
    if (!table.is_object() || table.empty()) {
        fail_as(ErrorCode::bad_file, c.file, ": metadata 'layers' must be a JSON object naming at least one layer");
    }
    const SafeTensor* steps = file.find_tensor("timesteps");
    if (steps == nullptr || steps->shape.size() != 1 || steps->shape[0] < 1) {
        fail_as(ErrorCode::bad_file, c.file, ": tensor 'timesteps' (F32 [T]) is missing");
    }
    c.timesteps = read_values<float>(file, "timesteps", SafeDtype::F32, {steps->shape[0]});
    const auto has = md.find("timesteps");
    c.has_timesteps = has != md.end() && has->second == "given";
    if (!c.has_timesteps && c.steps() != 1) {
        fail_as(ErrorCode::bad_file, c.file, ": ", c.steps(), " timesteps, but metadata 'timesteps' is not \"given\"");
    }
    const int64_t T = c.steps();
    for (const auto& [name, entry] : table.items()) {
        const std::string where = concat(c.file, ": layer '", name, "'");
        if (!entry.is_object()) fail_as(ErrorCode::bad_file, where, ": its entry in 'layers' is not an object");
        LayerStats l;
        l.layer = name;
        l.weight = entry.value("weight", name + ".weight");
        l.kind = entry.value("kind", "linear");
        l.input = entry.value("input", name);
        l.channels = json_int(entry, "in_channels", where);
        l.cols = json_int(entry, "weight_cols", where);
        if (l.cols % l.channels != 0) {
            fail_as(ErrorCode::bad_file, where, ": weight_cols ", l.cols, " is not a multiple of in_channels ", l.channels);
        }
        l.absmax = read_values<float>(file, name + ".absmax", SafeDtype::F32, {T, l.channels});
        l.min = read_values<float>(file, name + ".min", SafeDtype::F32, {T, l.channels});
        l.max = read_values<float>(file, name + ".max", SafeDtype::F32, {T, l.channels});
        const SafeTensor* s = file.find_tensor(name + ".samples");
        if (s == nullptr || s->shape.size() != 2) {
            fail_as(ErrorCode::bad_file, where, ": tensor '", name, ".samples' (F32 [N, ", l.cols, "]) is missing");
        }
        l.n_samples = s->shape[0];
        l.samples = read_values<float>(file, name + ".samples", SafeDtype::F32, {l.n_samples, l.cols});
        l.sample_steps = read_values<int32_t>(file, name + ".sample_timesteps", SafeDtype::I32, {l.n_samples});
        for (int64_t i = 0; i < l.n_samples; ++i) {
            if (l.sample_steps[static_cast<std::size_t>(i)] < 0 || l.sample_steps[static_cast<std::size_t>(i)] >= T) {
                fail_as(ErrorCode::bad_file, where, ": sample ", i, " names timestep index ",
                        l.sample_steps[static_cast<std::size_t>(i)], ", outside [0, ", T, ")");
            }
        }
        for (std::size_t i = 0; i < l.min.size(); ++i) {
            if (l.min[i] > l.max[i] || l.absmax[i] < 0) {
                fail_as(ErrorCode::bad_file, where, ": min > max or a negative absmax at timestep ",
                        static_cast<int64_t>(i) / l.channels, ", channel ", static_cast<int64_t>(i) % l.channels);
            }
        }
        c.layers.push_back(std::move(l));
    }
    // layers that share an input must agree on it
    for (const LayerStats& l : c.layers) {
        if (l.input == l.layer) continue;
        const LayerStats* first = nullptr;
        for (const LayerStats& f : c.layers) first = f.layer == l.input ? &f : first;
        if (first == nullptr || first->input != first->layer) {
            fail_as(ErrorCode::bad_file, c.file, ": layer '", l.layer, "' shares the input of '", l.input,
                    "', which is not a layer of the file that reads its own input");
        }
        if (first->cols != l.cols || first->channels != l.channels || first->samples != l.samples ||
            first->absmax != l.absmax || first->min != l.min || first->max != l.max) {
            fail_as(ErrorCode::bad_file, c.file, ": layer '", l.layer, "' shares the input of '", l.input,
                    "', but their statistics or samples differ");
        }
    }
    return c;
}

}  // namespace lowbit::quantize
