#include "lowbit/model.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "lowbit/error.hpp"
#include "lowbit/fp16.hpp"
#include "lowbit/kernel_set.hpp"
#include "lowbit/thread_pool.hpp"

namespace lowbit::llm {
namespace {

struct ArchInfo {
    std::string_view name;
    Architecture arch;
    FeedForward ffn;
    bool sub_norms;
};

constexpr ArchInfo kArchitectures[] = {
    {"bitnet-b1.58", Architecture::bitnet_b158, FeedForward::relu_squared, true},
    {"bitnet-25", Architecture::bitnet_25, FeedForward::relu_squared, true},
    {"bitnet", Architecture::bitnet, FeedForward::silu, true},
    {"llama", Architecture::llama, FeedForward::silu, false},
};

}  // namespace

std::string_view architecture_name(Architecture arch) {
    for (const ArchInfo& a : kArchitectures) {
        if (a.arch == arch) return a.name;
    }
    return "?";
}

std::unique_ptr<Model> Model::load(const std::filesystem::path& path, const LoadOptions& options) {
    std::unique_ptr<Model> m(new Model(GgufFile::open(path)));
    m->kernels_ = options.isa ? &kernel_set(*options.isa) : &default_kernel_set();
    m->read_hyperparameters();
    m->read_tensors();
    if (options.head_type) {
        if (options.pool != nullptr) {
            m->requantize_head(*options.head_type, *options.pool);
        } else {
            ThreadPool pool(options.threads > 0 ? options.threads : default_thread_count());
            m->requantize_head(*options.head_type, pool);
        }
    }
    m->read_tokenizer();
    return m;
}

void Model::read_tokenizer() {
    if (!file_.metadata().contains("tokenizer.ggml.model")) return;
    tokenizer_ = std::make_unique<Tokenizer>(file_.metadata());
    if (tokenizer_->vocab_size() != hp_.n_vocab) {
        fail_as(ErrorCode::bad_file, file_.source(), ": the tokenizer has ", tokenizer_->vocab_size(),
                " tokens but the embedding has ", hp_.n_vocab, " rows");
    }
}

const Tokenizer& Model::tokenizer() const {
    if (tokenizer_ == nullptr) fail_as(ErrorCode::unsupported, file_.source(), ": the file has no tokenizer (tokenizer.* keys)");
    return *tokenizer_;
}

void Model::read_hyperparameters() {
    const Metadata& md = file_.metadata();
    const std::string arch(file_.architecture());
    const ArchInfo* info = nullptr;
    for (const ArchInfo& a : kArchitectures) {
        if (a.name == arch) info = &a;
    }
    if (info == nullptr) {
        fail_as(ErrorCode::unsupported, file_.source(), ": general.architecture '", arch,
             "' is not one lowbit runs (bitnet-b1.58, bitnet-25, bitnet, llama)");
    }
    const std::string p = arch + ".";
    auto positive = [&](const std::string& key) {
        const int64_t v = md.get_int(key);  // throws naming file and key when missing
        if (v <= 0 || v > (int64_t{1} << 24)) fail_as(ErrorCode::bad_file, file_.source(), ": ", key, " = ", v, " is out of range");
        return v;
    };
    hp_.arch_name = arch;
    hp_.arch = info->arch;
    hp_.ffn = info->ffn;
    hp_.sub_norms = info->sub_norms;
    hp_.rope_neox = info->arch != Architecture::llama;
    hp_.n_layer = positive(p + "block_count");
    hp_.n_embd = positive(p + "embedding_length");
    hp_.n_ff = positive(p + "feed_forward_length");
    hp_.n_head = positive(p + "attention.head_count");
    hp_.n_head_kv = md.contains(p + "attention.head_count_kv") ? positive(p + "attention.head_count_kv") : hp_.n_head;
    hp_.rms_eps = static_cast<float>(md.get_float(p + "attention.layer_norm_rms_epsilon"));
    hp_.rope_theta = md.contains(p + "rope.freq_base") ? static_cast<float>(md.get_float(p + "rope.freq_base")) : 10000.0f;
    hp_.n_ctx_train = md.contains(p + "context_length") ? positive(p + "context_length") : 2048;
    if (hp_.n_embd % hp_.n_head != 0) {
        fail_as(ErrorCode::bad_file, file_.source(), ": ", p, "embedding_length ", hp_.n_embd, " is not a multiple of the head count ", hp_.n_head);
    }
    if (hp_.n_head % hp_.n_head_kv != 0) {
        fail_as(ErrorCode::bad_file, file_.source(), ": ", p, "attention.head_count ", hp_.n_head, " is not a multiple of head_count_kv ",
             hp_.n_head_kv);
    }
    hp_.head_dim = hp_.n_embd / hp_.n_head;
    hp_.rope_dim = md.contains(p + "rope.dimension_count") ? positive(p + "rope.dimension_count") : hp_.head_dim;
    if (hp_.rope_dim > hp_.head_dim || hp_.rope_dim % 2 != 0) {
        fail_as(ErrorCode::bad_file, file_.source(), ": ", p, "rope.dimension_count ", hp_.rope_dim, " must be even and at most the head size ",
             hp_.head_dim);
    }
    if (!(hp_.rms_eps > 0.0f) || !(hp_.rope_theta > 0.0f)) {
        fail_as(ErrorCode::bad_file, file_.source(), ": ", p, "attention.layer_norm_rms_epsilon and rope.freq_base must be positive");
    }
}

namespace {

// A matrix tensor with the expected shape, as a Linear.
Linear linear(const GgufFile& file, const std::string& name, int64_t rows, int64_t cols) {
    const GgufTensor& t = file.tensor(name);  // throws naming the tensor when missing
    if (t.rows != rows || t.cols != cols || t.ne.size() > 2) {
        fail_as(ErrorCode::bad_file, file.source(), ": tensor '", name, "' has shape ", t.cols, " x ", t.rows, " (ne0 x ne1), expected ", cols,
             " x ", rows);
    }
    const TensorWeight tw = file.weight(t);  // throws when lowbit cannot compute the type
    Linear l;
    l.name = name;
    l.type = tw.type;
    l.view = tw.view;
    l.bytes = static_cast<std::size_t>(t.bytes);
    return l;
}

// A norm weight vector of n values, as f32.
std::vector<float> vector_f32(const GgufFile& file, const std::string& name, int64_t n) {
    const GgufTensor& t = file.tensor(name);
    if (t.elements() != n || t.rows != 1) {
        fail_as(ErrorCode::bad_file, file.source(), ": tensor '", name, "' has ", t.elements(), " elements, expected a vector of ", n);
    }
    const TensorWeight tw = file.weight(t);
    std::vector<float> out(static_cast<std::size_t>(n));
    tw.type->reference.dequantize(tw.view, 0, 1, out.data());
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (!std::isfinite(out[i])) fail_as(ErrorCode::bad_file, file.source(), ": tensor '", name, "' element ", i, " is not finite");
    }
    return out;
}

// llama.cpp's `bitnet` files may scale a matmul's output by a one-element tensor.
float optional_scale(const GgufFile& file, const std::string& name) {
    const GgufTensor* t = file.find_tensor(name);
    if (t == nullptr) return 1.0f;
    const std::vector<float> v = vector_f32(file, name, 1);
    return v[0];
}

// `<prefix>.smooth_scale` of a matrix with n columns (calibration's channel scaling: the
// matrix expects its input multiplied by it), or empty when the file has none.
std::vector<float> smooth_scale(const GgufFile& file, const std::string& weight, int64_t n) {
    const std::string name = weight.substr(0, weight.size() - 7) + ".smooth_scale";
    return file.find_tensor(name) != nullptr ? vector_f32(file, name, n) : std::vector<float>{};
}

// The one smooth scale of the matrices that read a norm's output, folded into the norm's
// weight; they must all have it, and the same.
void fold_smooth_scale(const GgufFile& file, std::initializer_list<const Linear*> readers, std::vector<float>& norm) {
    const std::vector<float> first = smooth_scale(file, (*readers.begin())->name, static_cast<int64_t>(norm.size()));
    for (const Linear* l : readers) {
        if (smooth_scale(file, l->name, static_cast<int64_t>(norm.size())) != first) {
            fail_as(ErrorCode::bad_file, file.source(), ": the matrices that read one norm (", (*readers.begin())->name,
                    ", ", l->name, ") must carry the same smooth_scale, or none (lowbit quantize --calib gives "
                    "layers that share an input one scaling)");
        }
    }
    for (std::size_t j = 0; j < first.size(); ++j) norm[j] *= first[j];
}

}  // namespace

void Model::read_tensors() {
    const HyperParameters& h = hp_;
    const int64_t q_dim = h.n_head * h.head_dim;
    const int64_t kv_dim = h.n_head_kv * h.head_dim;

    const GgufTensor& embd = file_.tensor("token_embd.weight");
    hp_.n_vocab = embd.rows;
    if (const auto v = file_.metadata().find_uint(h.arch_name + ".vocab_size"); v && static_cast<int64_t>(*v) != embd.rows) {
        fail_as(ErrorCode::bad_file, file_.source(), ": ", h.arch_name, ".vocab_size is ", *v, " but token_embd.weight has ", embd.rows, " rows");
    }
    token_embd_ = linear(file_, "token_embd.weight", hp_.n_vocab, h.n_embd);
    output_norm_ = vector_f32(file_, "output_norm.weight", h.n_embd);
    if (file_.find_tensor("output.weight") != nullptr) {
        head_ = linear(file_, "output.weight", hp_.n_vocab, h.n_embd);
    } else {
        head_ = token_embd_;
        tied_ = true;
    }

    layers_.resize(static_cast<std::size_t>(h.n_layer));
    for (int64_t i = 0; i < h.n_layer; ++i) {
        Layer& L = layers_[static_cast<std::size_t>(i)];
        const std::string b = "blk." + std::to_string(i) + ".";
        L.attn_norm = vector_f32(file_, b + "attn_norm.weight", h.n_embd);
        L.ffn_norm = vector_f32(file_, b + "ffn_norm.weight", h.n_embd);
        if (h.sub_norms) {
            L.attn_sub_norm = vector_f32(file_, b + "attn_sub_norm.weight", q_dim);
            L.ffn_sub_norm = vector_f32(file_, b + "ffn_sub_norm.weight", h.n_ff);
        }
        L.q = linear(file_, b + "attn_q.weight", q_dim, h.n_embd);
        L.k = linear(file_, b + "attn_k.weight", kv_dim, h.n_embd);
        L.v = linear(file_, b + "attn_v.weight", kv_dim, h.n_embd);
        L.o = linear(file_, b + "attn_output.weight", h.n_embd, q_dim);
        L.gate = linear(file_, b + "ffn_gate.weight", h.n_ff, h.n_embd);
        L.up = linear(file_, b + "ffn_up.weight", h.n_ff, h.n_embd);
        L.down = linear(file_, b + "ffn_down.weight", h.n_embd, h.n_ff);
        for (Linear* l : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) {
            l->output_scale = optional_scale(file_, l->name.substr(0, l->name.size() - 7) + ".scale");
        }
        fold_smooth_scale(file_, {&L.q, &L.k, &L.v}, L.attn_norm);
        fold_smooth_scale(file_, {&L.gate, &L.up}, L.ffn_norm);
        L.o_smooth = smooth_scale(file_, L.o.name, q_dim);
        L.down_smooth = smooth_scale(file_, L.down.name, h.n_ff);
    }
}

void Model::requantize_head(TypeId type, ThreadPool& pool) {
    const WeightType& target = weight_type(type);
    const int64_t rows = head_.view.rows, cols = head_.view.cols;
    owned_head_.resize(target.tensor_bytes(rows, cols));  // throws if the shape cannot be stored
    // Re-quantize in slabs of rows, in parallel, through the model's kernels.
    const Linear source = head_;
    const Kernels& from = (*kernels_)[*source.type].ops;
    const Kernels& to = (*kernels_)[target].ops;
    const int64_t slab = 256;
    pool.parallel_for((rows + slab - 1) / slab, 1, [&](int64_t first, int64_t last) {
        std::vector<float> f(static_cast<std::size_t>(slab * cols));
        for (int64_t s = first; s < last; ++s) {
            const int64_t r0 = s * slab, n = std::min(slab, rows - r0);
            from.dequantize(source.view, r0, r0 + n, f.data());
            to.quantize(f.data(), n, cols, owned_head_.data() + r0 * target.row_bytes(cols));
        }
    });
    head_.name = (tied_ ? "token_embd.weight" : "output.weight") + std::string(" as ") + std::string(target.name);
    head_.type = &target;
    head_.view = {owned_head_.data(), rows, cols};
    head_.bytes = owned_head_.size();
}

std::size_t Model::bytes_per_token() const {
    std::size_t total = head_.bytes;
    for (const Layer& L : layers_) {
        for (const Linear* l : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) total += l->bytes;
    }
    return total;
}

std::vector<std::string> Model::weight_types() const {
    std::set<std::string> linear_types;
    for (const Layer& L : layers_) {
        for (const Linear* l : {&L.q, &L.k, &L.v, &L.o, &L.gate, &L.up, &L.down}) linear_types.emplace(l->type->name);
    }
    std::vector<std::string> out(linear_types.begin(), linear_types.end());
    out.push_back(std::string(token_embd_.type->name) + " (embedding)");
    out.push_back(std::string(head_.type->name) + (tied_ ? " (head, tied)" : " (head)"));
    return out;
}

}  // namespace lowbit::llm
