// read_float_tensors: a model file's tensors decoded to floats (quantize.hpp).
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "lowbit/error.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/quantize.hpp"
#include "tensor_source.hpp"

namespace lowbit::quantize {
namespace {

std::vector<int64_t> torch_order(const std::vector<int64_t>& ne) { return {ne.rbegin(), ne.rend()}; }

FloatTensor decoded(const SourceTensor& t) {
    if (t.weight.type == nullptr) {
        fail_as(ErrorCode::unsupported, t.where(), ": type ", t.type_name, " is not one lowbit decodes");
    }
    FloatTensor f{t.name, t.type_name, torch_order(t.ne), std::vector<float>(static_cast<std::size_t>(t.elements()))};
    decode_rows(t, 0, t.rows, f.values.data());
    return f;
}

// A lowbit SafeTensors output's tensor from its parts, concatenated (the bytes of its GGUF
// encoding) and decoded.
FloatTensor reassembled(const std::string& name, const nlohmann::json& d,
                        const std::map<std::string, const SourceTensor*>& by_name, const std::string& file) {
    const std::string where = concat(file, ": tensor '", name, "'");
    const std::string type_name = d.value("type", "");
    const WeightType* type = find_weight_type(type_name);
    const nlohmann::json shape = d.value("shape", nlohmann::json());
    if (type == nullptr || !shape.is_array() || shape.size() != 2 || !shape[0].is_number_integer() ||
        !shape[1].is_number_integer()) {
        fail_as(ErrorCode::bad_file, where, ": quantization_config gives no type lowbit knows and [rows, cols] shape");
    }
    const int64_t rows = shape[0].get<int64_t>(), cols = shape[1].get<int64_t>();
    std::vector<uint8_t> bytes;
    for (const char* part : {"qweight", "scales", "zeros"}) {
        if (!d.contains(part)) continue;
        const auto it = by_name.find(d[part].get<std::string>());
        if (it == by_name.end()) fail_as(ErrorCode::bad_file, where, ": its part '", d[part].get<std::string>(), "' is missing");
        bytes.insert(bytes.end(), it->second->data.begin(), it->second->data.end());
    }
    if (rows < 0 || cols < 0 || bytes.size() != type->tensor_bytes(rows, cols)) {
        fail_as(ErrorCode::bad_file, where, ": its parts hold ", bytes.size(), " bytes, ", type->name, " [", rows, ", ",
                cols, "] needs ", type->tensor_bytes(rows, cols));
    }
    FloatTensor f{name, type_name, {rows, cols}, std::vector<float>(static_cast<std::size_t>(rows * cols))};
    if (d.contains("tensor_shape")) f.shape = d["tensor_shape"].get<std::vector<int64_t>>();
    default_kernel_set()[*type].ops.dequantize(WeightView{bytes.data(), rows, cols}, 0, rows, f.values.data());
    return f;
}

}  // namespace

FloatTensors read_float_tensors(const std::filesystem::path& path) {
    const TensorSource src = TensorSource::open(path, Naming::as_stored);
    FloatTensors out;
    if (src.is_gguf()) {
        for (const auto& [key, value] : src.metadata().entries()) {
            if (const std::string* s = value.as_string()) out.metadata.emplace_back(key, *s);
        }
        for (const SourceTensor& t : src.tensors()) out.tensors.push_back(decoded(t));
        return out;
    }
    nlohmann::json config;
    for (const auto& [key, value] : src.string_metadata()) {
        out.metadata.emplace_back(key, value);
        if (key == "quantization_config") config = nlohmann::json::parse(value, nullptr, false);
    }
    std::map<std::string, const SourceTensor*> by_name;
    for (const SourceTensor& t : src.tensors()) by_name[t.name] = &t;
    // the parts of each quantized tensor, by the name of its first
    std::map<std::string, std::string> first_part;
    std::set<std::string> parts;
    if (config.is_object() && config.contains("tensors") && config["tensors"].is_object()) {
        for (const auto& [name, d] : config["tensors"].items()) {
            if (!d.is_object() || !d.contains("qweight")) continue;
            first_part[d["qweight"].get<std::string>()] = name;
            for (const char* part : {"qweight", "scales", "zeros"}) {
                if (d.contains(part)) parts.insert(d[part].get<std::string>());
            }
        }
    }
    for (const SourceTensor& t : src.tensors()) {
        if (const auto it = first_part.find(t.name); it != first_part.end()) {
            out.tensors.push_back(reassembled(it->second, config["tensors"][it->second], by_name, src.source()));
        } else if (parts.count(t.name) == 0) {
            out.tensors.push_back(decoded(t));
        }
    }
    return out;
}

}  // namespace lowbit::quantize
