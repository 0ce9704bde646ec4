#include "reference_model.hpp"

#include <cmath>
#include <random>

#include "lowbit/fp16.hpp"

namespace lowbit::test {
namespace {

using Vec = std::vector<double>;

// The activations flowing between layers are f32, as in the engine; rounding them the same way
// keeps the int8 quantization of both sides on the same inputs (a 1-ulp difference at a
// rounding boundary would flip a code and hide real errors in noise).
double f32(double v) { return static_cast<double>(static_cast<float>(v)); }

Vec rms_norm(const Vec& x, const std::vector<float>& w, double eps) {
    double ss = 0;
    for (double v : x) ss += v * v;
    const auto inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps));
    Vec y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = static_cast<float>(x[i]) * inv * w[i];
    return y;
}

// y = W q / s with x quantized per token to int8: amax in double, s = (float)(127 / amax),
// q = round_half_even(x * s) in f32, clamped.
Vec bit_linear(const std::vector<float>& W, int64_t rows, int64_t cols, const Vec& x) {
    double amax = 1e-5;
    for (double v : x) amax = std::max(amax, std::fabs(static_cast<double>(static_cast<float>(v))));
    const auto s = static_cast<float>(127.0 / amax);
    std::vector<int> q(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const float v = static_cast<float>(x[i]) * s;
        q[i] = static_cast<int>(std::max(-128.0f, std::min(127.0f, std::nearbyint(v))));
    }
    Vec y(static_cast<std::size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) {
        double acc = 0;  // exact: weights are multiples of a power of two, q integers
        for (int64_t k = 0; k < cols; ++k) acc += static_cast<double>(W[r * cols + k]) * q[k];
        y[r] = static_cast<float>(acc) / s;
    }
    return y;
}

double f16_round(double v) { return f16_to_f32(f32_to_f16(static_cast<float>(v))); }

// Rotation with PyTorch's f32 angles: inv_freq = 1 / theta^(2i/d), angle = pos * inv_freq; pairs
// (i, i + d/2) for NEOX, (2i, 2i + 1) otherwise.
void rope(Vec& v, int64_t offset, int64_t dim, double pos, double theta, bool neox) {
    const int64_t half = dim / 2;
    for (int64_t i = 0; i < half; ++i) {
        const float inv_freq = 1.0f / std::pow(static_cast<float>(theta), static_cast<float>(2 * i) / static_cast<float>(dim));
        const float angle = static_cast<float>(pos) * inv_freq;
        const double c = std::cos(angle), s = std::sin(angle);
        const int64_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
        const double x0 = v[offset + a], x1 = v[offset + b];
        v[offset + a] = x0 * c - x1 * s;
        v[offset + b] = x0 * s + x1 * c;
    }
}

}  // namespace

std::vector<std::vector<double>> ReferenceModel::forward(const std::vector<int32_t>& tokens) const {
    const llm::ModelShape& s = shape;
    const int64_t d = s.n_embd, hd = d / s.n_head, q_dim = s.n_head * hd, kv_dim = s.n_head_kv * hd, ff = s.n_ff;
    std::vector<std::vector<Vec>> K(s.n_layer), V(s.n_layer);
    std::vector<Vec> logits;
    const std::vector<float>& E = tensors.at("token_embd.weight");
    for (std::size_t t = 0; t < tokens.size(); ++t) {
        Vec x(E.begin() + tokens[t] * d, E.begin() + (tokens[t] + 1) * d);
        for (int64_t l = 0; l < s.n_layer; ++l) {
            const std::string b = "blk." + std::to_string(l) + ".";
            auto W = [&](const char* n) -> const std::vector<float>& { return tensors.at(b + n); };
            Vec h = rms_norm(x, W("attn_norm.weight"), s.rms_eps);
            Vec q = bit_linear(W("attn_q.weight"), q_dim, d, h);
            Vec k = bit_linear(W("attn_k.weight"), kv_dim, d, h);
            Vec v = bit_linear(W("attn_v.weight"), kv_dim, d, h);
            for (int64_t head = 0; head < s.n_head; ++head) rope(q, head * hd, hd, static_cast<double>(t), s.rope_theta, rope_neox);
            for (int64_t head = 0; head < s.n_head_kv; ++head) rope(k, head * hd, hd, static_cast<double>(t), s.rope_theta, rope_neox);
            for (double& e : k) e = f16_round(e);
            for (double& e : v) e = f16_round(e);
            K[l].push_back(k);
            V[l].push_back(v);
            Vec a(static_cast<std::size_t>(q_dim), 0.0);
            for (int64_t head = 0; head < s.n_head; ++head) {
                const int64_t g = head / (s.n_head / s.n_head_kv);
                std::vector<double> score(t + 1);
                double max = -1e300;
                for (std::size_t j = 0; j <= t; ++j) {
                    double dot = 0;
                    for (int64_t i = 0; i < hd; ++i) dot += q[head * hd + i] * K[l][j][g * hd + i];
                    score[j] = dot / std::sqrt(static_cast<double>(hd));
                    max = std::max(max, score[j]);
                }
                double sum = 0;
                for (double& e : score) sum += (e = std::exp(e - max));
                for (std::size_t j = 0; j <= t; ++j) {
                    for (int64_t i = 0; i < hd; ++i) a[head * hd + i] += score[j] / sum * V[l][j][g * hd + i];
                }
            }
            if (sub_norms) a = rms_norm(a, W("attn_sub_norm.weight"), s.rms_eps);
            for (double& e : a) e = f32(e);
            const Vec o = bit_linear(W("attn_output.weight"), d, q_dim, a);
            for (int64_t i = 0; i < d; ++i) x[i] = f32(x[i] + o[i]);
            h = rms_norm(x, W("ffn_norm.weight"), s.rms_eps);
            const Vec g = bit_linear(W("ffn_gate.weight"), ff, d, h);
            const Vec u = bit_linear(W("ffn_up.weight"), ff, d, h);
            Vec f(static_cast<std::size_t>(ff));
            for (int64_t i = 0; i < ff; ++i) {
                const double act = relu_squared ? (g[i] > 0 ? g[i] * g[i] : 0.0) : g[i] / (1.0 + std::exp(-g[i]));
                f[i] = f32(act * u[i]);
            }
            if (sub_norms) f = rms_norm(f, W("ffn_sub_norm.weight"), s.rms_eps);
            const Vec down = bit_linear(W("ffn_down.weight"), d, ff, f);
            for (int64_t i = 0; i < d; ++i) x[i] = f32(x[i] + down[i]);
        }
        const Vec h = rms_norm(x, tensors.at("output_norm.weight"), s.rms_eps);
        Vec out(static_cast<std::size_t>(s.n_vocab));
        for (int64_t r = 0; r < s.n_vocab; ++r) {
            double acc = 0;
            for (int64_t k = 0; k < d; ++k) acc += static_cast<double>(E[r * d + k]) * static_cast<double>(static_cast<float>(h[k]));
            out[r] = acc;
        }
        logits.push_back(out);
    }
    return logits;
}

ReferenceModel make_reference_model(const llm::ModelShape& shape, uint32_t seed) {
    ReferenceModel m;
    m.shape = shape;
    m.relu_squared = shape.arch != "bitnet" && shape.arch != "llama";
    m.sub_norms = shape.arch != "llama";
    m.rope_neox = shape.arch != "llama";
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> trit(-1, 1);
    for (const llm::TensorSpec& t : llm::model_tensors(shape, {})) {
        std::vector<float> v(static_cast<std::size_t>(t.rows * t.cols));
        if (t.is_linear) {
            for (float& e : v) e = 0.0625f * static_cast<float>(trit(rng));
        } else if (t.name == "token_embd.weight") {
            for (float& e : v) e = f16_to_f32(f32_to_f16(0.5f * normal(rng)));
        } else {
            for (float& e : v) e = 1.0f + 0.1f * normal(rng);
        }
        m.tensors[t.name] = v;
    }
    return m;
}

}  // namespace lowbit::test
