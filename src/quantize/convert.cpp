// `lowbit convert` is `lowbit quantize` with convert's defaults: linear layers to one type
// (I2_S for BitNet, F16 for llama), the embedding and head to another, norms to F32, no
// quality threshold, and a shape the type cannot hold an error rather than a fallback.
#include "lowbit/convert.hpp"

#include "lowbit/error.hpp"
#include "lowbit/hf_config.hpp"
#include "lowbit/quantize.hpp"
#include "lowbit/thread_pool.hpp"

namespace lowbit::llm {

ConvertReport convert_hf_model(const ConvertOptions& o, ThreadPool& pool) {
    const HfConfig cfg = read_hf_config(o.input / "config.json");
    if (!hf_model_type_supported(cfg.model_type)) {
        fail_as(ErrorCode::bad_file, (o.input / "config.json").string(), ": model_type '", cfg.model_type,
                "' is not bitnet or llama");
    }
    const bool bitnet = cfg.model_type == "bitnet";
    quantize::Options q;
    q.input = o.input;
    q.output = o.output;
    q.type = o.linear_type.value_or(bitnet ? TypeId::I2_S : TypeId::F16);
    q.tensor_types.push_back({"^(token_embd|output)\\.weight$", o.embedding_type});
    q.vector_type = TypeId::F32;
    q.strict = true;
    const quantize::Report r = quantize::quantize_model(q, pool);

    ConvertReport report;
    report.architecture = r.architecture;
    for (const quantize::TensorReport& t : r.tensors) {
        ++report.tensors;
        if (t.kept || !weight_type(t.type).ternary) continue;
        ++(t.ternarized ? report.ternarized : report.ternary_as_is);
    }
    return report;
}

}  // namespace lowbit::llm
