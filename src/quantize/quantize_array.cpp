// quantize_array: an in-memory tensor through the same encoder as a model's tensors.
#include "lowbit/error.hpp"
#include "lowbit/quantize.hpp"
#include "tensor_quantizer.hpp"

namespace lowbit::quantize {

EncodedArray quantize_array(const std::string& name, std::span<const uint8_t> data, TypeId source_type, int64_t rows,
                            int64_t cols, TypeId type, const Options& options, ThreadPool& pool) {
    if (source_type != TypeId::F32 && source_type != TypeId::F16 && source_type != TypeId::BF16) {
        fail(name, ": values must be F32, F16 or BF16");
    }
    const WeightType& source_row = weight_type(source_type);
    if (rows <= 0 || cols <= 0) fail(name, ": shape ", rows, " x ", cols, " has no elements");
    if (data.size() != source_row.tensor_bytes(rows, cols)) {
        fail(name, ": ", data.size(), " bytes for ", rows, " x ", cols, " ", source_row.name, " values");
    }
    SourceTensor source;
    source.name = source.source_name = name;
    source.file = "array";
    source.ne = {cols, rows};
    source.rows = rows;
    source.cols = cols;
    source.type_name = source_row.name;
    source.weight = {&source_row, {data.data(), rows, cols}};
    source.data = data;
    Options o = options;
    o.mode = Mode::batch;  // streaming would give the pages of a mapped source back: not the caller's memory
    o.min_cosine.reset();
    o.strict = true;
    EncodedTensor encoded = encode_tensor(source, {&weight_type(type)}, o, pool);
    EncodedArray out;
    out.bytes = std::move(encoded.bytes);
    out.cosine = encoded.cosine;
    out.relative_mse = encoded.relative_mse;
    out.max_abs_error = encoded.max_abs_error;
    out.ternarized = encoded.ternarized;
    out.zeroed = encoded.zeroed;
    return out;
}

}  // namespace lowbit::quantize
