#include "calibrated_layer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "lowbit/error.hpp"
#include "lowbit/kernel_set.hpp"

namespace lowbit::quantize {
namespace {

// The per-channel scale expanded to the weight's columns (column k belongs to channel k / area).
std::vector<float> per_column(const LayerStats& stats, const std::vector<float>& s) {
    std::vector<float> c(static_cast<std::size_t>(stats.cols));
    const int64_t area = stats.area();
    for (int64_t k = 0; k < stats.cols; ++k) c[static_cast<std::size_t>(k)] = s[static_cast<std::size_t>(k / area)];
    return c;
}

// max over timesteps of absmax[t][j]
std::vector<float> activation_absmax(const LayerStats& stats) {
    std::vector<float> a(static_cast<std::size_t>(stats.channels), 0);
    const std::size_t steps = stats.absmax.size() / a.size();
    for (std::size_t t = 0; t < steps; ++t) {
        for (std::size_t j = 0; j < a.size(); ++j) a[j] = std::max(a[j], stats.absmax[t * a.size() + j]);
    }
    return a;
}

// max |W[:, j]| over the rows and the columns of channel j
std::vector<float> weight_absmax(const LayerStats& stats, const std::vector<float>& w, int64_t rows) {
    std::vector<float> m(static_cast<std::size_t>(stats.channels), 0);
    const int64_t area = stats.area();
    for (int64_t r = 0; r < rows; ++r) {
        const float* row = w.data() + r * stats.cols;
        for (int64_t k = 0; k < stats.cols; ++k) {
            float& v = m[static_cast<std::size_t>(k / area)];
            v = std::max(v, std::fabs(row[k]));
        }
    }
    return m;
}

// SmoothQuant: s_j = absmax_j^a / max|W_j|^(1-a), 1 where either side is zero.
std::vector<float> smooth_factors(const std::vector<float>& act, const std::vector<float>& wmax, double alpha) {
    std::vector<float> s(act.size(), 1);
    for (std::size_t j = 0; j < s.size(); ++j) {
        if (act[j] > 0 && wmax[j] > 0) {
            s[j] = static_cast<float>(std::pow(static_cast<double>(act[j]), alpha) /
                                      std::pow(static_cast<double>(wmax[j]), 1 - alpha));
        }
    }
    return s;
}

// AWQ: s_j = absmax_j^a, normalised so that max(s) * min(s) = 1; 1 for channels never active.
std::vector<float> awq_factors(const std::vector<float>& act, double alpha) {
    std::vector<float> s(act.size(), 1);
    double lo = std::numeric_limits<double>::max(), hi = 0;
    for (std::size_t j = 0; j < s.size(); ++j) {
        if (act[j] > 0) {
            s[j] = static_cast<float>(std::pow(std::max(static_cast<double>(act[j]), 1e-4), alpha));
            lo = std::min<double>(lo, s[j]), hi = std::max<double>(hi, s[j]);
        }
    }
    if (hi > 0) {
        const double norm = std::sqrt(lo * hi);
        for (std::size_t j = 0; j < s.size(); ++j) {
            if (act[j] > 0) s[j] = static_cast<float>(s[j] / norm);
        }
    }
    return s;
}

struct Evaluator {
    const LayerStats& stats;
    const std::vector<float>& w;
    int64_t rows;
    const WeightType& type;
    const std::vector<int32_t>& group_of_step;
    int64_t groups;
    int act_bits;
    const Options& options;
    ThreadPool& pool;
    std::vector<double> reference;  // W x per sample, n_samples x rows
    double reference_energy = 0;

    // out[n][r] = sum_k a[r][k] * x[n][k], in double
    std::vector<double> products(const std::vector<float>& a, const std::vector<float>& x) const {
        std::vector<double> y(static_cast<std::size_t>(stats.n_samples * rows));
        pool.parallel_for(stats.n_samples, 1, [&](int64_t n0, int64_t n1) {
            for (int64_t n = n0; n < n1; ++n) {
                const float* xn = x.data() + n * stats.cols;
                for (int64_t r = 0; r < rows; ++r) {
                    const float* ar = a.data() + r * stats.cols;
                    double acc[4] = {0, 0, 0, 0};
                    int64_t k = 0;
                    for (; k + 4 <= stats.cols; k += 4) {
                        for (int u = 0; u < 4; ++u) acc[u] += static_cast<double>(ar[k + u]) * xn[k + u];
                    }
                    for (; k < stats.cols; ++k) acc[0] += static_cast<double>(ar[k]) * xn[k];
                    y[static_cast<std::size_t>(n * rows + r)] = (acc[0] + acc[1]) + (acc[2] + acc[3]);
                }
            }
        });
        return y;
    }

    std::vector<ActParams> act_for(const std::vector<float>& s, int64_t use_groups,
                                   const std::vector<int32_t>& group_of) const {
        std::vector<ActParams> p;
        if (act_bits == 0) return p;
        const std::vector<Range> ranges = step_ranges(stats, s);
        std::vector<Range> merged(static_cast<std::size_t>(use_groups),
                                  Range{std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest()});
        for (std::size_t t = 0; t < ranges.size(); ++t) {
            Range& m = merged[static_cast<std::size_t>(group_of[t])];
            m.lo = std::min(m.lo, ranges[t].lo), m.hi = std::max(m.hi, ranges[t].hi);
        }
        for (const Range& r : merged) p.push_back(act_params(r, act_bits));
        return p;
    }

    // The samples divided by s per column, fake-quantized with `act` (by each sample's group).
    std::vector<float> inputs(const std::vector<float>& col_s, const std::vector<ActParams>& act,
                              const std::vector<int32_t>& group_of) const {
        std::vector<float> x(stats.samples);
        for (int64_t n = 0; n < stats.n_samples; ++n) {
            float* xn = x.data() + n * stats.cols;
            const ActParams* p =
                act.empty() ? nullptr : &act[static_cast<std::size_t>(group_of[static_cast<std::size_t>(stats.sample_steps[static_cast<std::size_t>(n)])])];
            for (int64_t k = 0; k < stats.cols; ++k) {
                float v = xn[k] / col_s[static_cast<std::size_t>(k)];
                if (p != nullptr) v = fake_quantize(v, *p, act_bits);
                xn[k] = v;
            }
        }
        return x;
    }

    // W diag(col_s), clipped to `bound` if given, encoded as `type` and decoded back.
    std::vector<float> quantized_weight(const std::vector<float>& col_s, const std::vector<float>& bound = {}) const {
        std::vector<float> scaled(w);
        scale_and_clip(scaled, rows, stats.cols, col_s, bound, type.block_elems);
        return decoded(scaled);
    }

    std::vector<float> decoded(const std::vector<float>& scaled) const {
        const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(scaled.data()), scaled.size() * sizeof(float));
        const EncodedArray e = quantize_array(stats.weight, bytes, TypeId::F32, rows, stats.cols, type.id, options, pool);
        std::vector<float> back(scaled.size());
        default_kernel_set()[type].ops.dequantize(WeightView{e.bytes.data(), rows, stats.cols}, 0, rows, back.data());
        return back;
    }

    double output_error(const std::vector<float>& s, bool with_act, const std::vector<float>& bound = {}) const {
        const std::vector<float> col_s = per_column(stats, s);
        const std::vector<ActParams> act = with_act ? act_for(s, groups, group_of_step) : std::vector<ActParams>{};
        const std::vector<double> y = products(quantized_weight(col_s, bound), inputs(col_s, act, group_of_step));
        double e = 0;
        for (std::size_t i = 0; i < y.size(); ++i) e += (y[i] - reference[i]) * (y[i] - reference[i]);
        return reference_energy > 0 ? e / reference_energy : e;
    }

    // AWQ's clipping search (weights only, as AWQ does): per row and block of W diag(s), the bound
    // r max|block|, r = 1, 0.95, .., 0.55, whose encoded block errs least on its share of the
    // outputs, sum_n ((Q(clamp(w_b)) - w_b) . x_b[n])^2 over the sampled rows divided by s. Blocks
    // are treated as independent, as in AWQ; `ratio` gets the mean r.
    std::vector<float> clip_bounds(const std::vector<float>& s, double& ratio) const {
        const int64_t cols = stats.cols, block = type.block_elems, blocks = (cols + block - 1) / block;
        const std::vector<float> col_s = per_column(stats, s);
        std::vector<float> scaled(w);
        scale_and_clip(scaled, rows, cols, col_s, {}, block);
        const std::vector<float> x = inputs(col_s, {}, group_of_step);
        std::vector<float> absmax(static_cast<std::size_t>(rows * blocks), 0);
        for (int64_t r = 0; r < rows; ++r) {
            for (int64_t k = 0; k < cols; ++k) {
                float& m = absmax[static_cast<std::size_t>(r * blocks + k / block)];
                m = std::max(m, std::fabs(scaled[static_cast<std::size_t>(r * cols + k)]));
            }
        }
        std::vector<float> bound = absmax, trial(absmax.size());
        std::vector<double> best(absmax.size(), std::numeric_limits<double>::max());
        std::vector<double> best_ratio(absmax.size(), 1);
        for (int i = 0; i < 10; ++i) {
            const double r = 1 - i / 20.0;
            for (std::size_t b = 0; b < trial.size(); ++b) trial[b] = static_cast<float>(r * absmax[b]);
            std::vector<float> q(scaled);
            scale_and_clip(q, rows, cols, {}, trial, block);
            q = decoded(q);
            for (std::size_t e = 0; e < q.size(); ++e) q[e] -= scaled[e];
            pool.parallel_for(rows, 1, [&](int64_t r0, int64_t r1) {
                std::vector<double> err(static_cast<std::size_t>(blocks));
                for (int64_t row = r0; row < r1; ++row) {
                    std::fill(err.begin(), err.end(), 0.0);
                    const float* d = q.data() + row * cols;
                    for (int64_t n = 0; n < stats.n_samples; ++n) {
                        const float* xn = x.data() + n * cols;
                        for (int64_t b = 0; b < blocks; ++b) {
                            double dot = 0;
                            for (int64_t k = b * block; k < std::min(cols, (b + 1) * block); ++k) dot += static_cast<double>(d[k]) * xn[k];
                            err[static_cast<std::size_t>(b)] += dot * dot;
                        }
                    }
                    for (int64_t b = 0; b < blocks; ++b) {
                        const std::size_t at = static_cast<std::size_t>(row * blocks + b);
                        if (err[static_cast<std::size_t>(b)] < best[at]) {
                            best[at] = err[static_cast<std::size_t>(b)], bound[at] = trial[at], best_ratio[at] = r;
                        }
                    }
                }
            });
        }
        double sum = 0;
        for (double r : best_ratio) sum += r;
        ratio = best_ratio.empty() ? 1 : sum / static_cast<double>(best_ratio.size());
        return bound;
    }

    // The activations' own error after dividing by s, with the given grouping.
    double act_error(const std::vector<float>& s, int64_t use_groups, const std::vector<int32_t>& group_of) const {
        if (act_bits == 0) return 0;
        const std::vector<float> col_s = per_column(stats, s);
        const std::vector<float> clean = inputs(col_s, {}, group_of);
        const std::vector<float> q = inputs(col_s, act_for(s, use_groups, group_of), group_of);
        double e = 0, energy = 0;
        for (std::size_t i = 0; i < q.size(); ++i) {
            e += static_cast<double>(q[i] - clean[i]) * (q[i] - clean[i]);
            energy += static_cast<double>(clean[i]) * clean[i];
        }
        return energy > 0 ? e / energy : e;
    }
};

}  // namespace

void scale_and_clip(std::vector<float>& w, int64_t rows, int64_t cols, const std::vector<float>& col_s,
                    const std::vector<float>& bound, int64_t block) {
    const int64_t blocks = (cols + block - 1) / block;
    for (int64_t r = 0; r < rows; ++r) {
        float* row = w.data() + r * cols;
        if (!col_s.empty()) {
            for (int64_t k = 0; k < cols; ++k) row[k] *= col_s[static_cast<std::size_t>(k)];
        }
        if (!bound.empty()) {
            for (int64_t k = 0; k < cols; ++k) {
                const float b = bound[static_cast<std::size_t>(r * blocks + k / block)];
                row[k] = std::clamp(row[k], -b, b);
            }
        }
    }
}

std::vector<Range> step_ranges(const LayerStats& stats, const std::vector<float>& s) {
    const std::size_t c = static_cast<std::size_t>(stats.channels), steps = stats.min.size() / c;
    std::vector<Range> r(steps, Range{std::numeric_limits<float>::max(), std::numeric_limits<float>::lowest()});
    for (std::size_t t = 0; t < steps; ++t) {
        for (std::size_t j = 0; j < c; ++j) {
            r[t].lo = std::min(r[t].lo, stats.min[t * c + j] / s[j]);
            r[t].hi = std::max(r[t].hi, stats.max[t * c + j] / s[j]);
        }
    }
    return r;
}

LayerChoice choose_scaling(const std::vector<LayerWeights>& members, const std::vector<int32_t>& group_of_step,
                           int64_t groups, const CalibrationOptions& cal, const Options& options, ThreadPool& pool) {
    std::vector<Evaluator> evs;
    for (const LayerWeights& m : members) {
        Evaluator ev{*m.stats, m.weights, m.rows, *m.type, group_of_step, groups, cal.act_bits, options, pool, {}, 0};
        ev.reference = ev.products(m.weights, m.stats->samples);
        for (double v : ev.reference) ev.reference_energy += v * v;
        evs.push_back(std::move(ev));
    }
    const LayerStats& first = *members.front().stats;
    const bool weights_only = cal.scaling == ChannelScaling::awq || cal.act_bits == 0;
    // the error over the group: every layer's squared error over every layer's output energy
    const auto group_error = [&](const std::vector<float>& s) {
        double e = 0, energy = 0;
        for (const Evaluator& ev : evs) {
            e += ev.output_error(s, !weights_only) * (ev.reference_energy > 0 ? ev.reference_energy : 1);
            energy += ev.reference_energy;
        }
        return energy > 0 ? e / energy : e;
    };

    const std::vector<float> ones(static_cast<std::size_t>(first.channels), 1);
    LayerChoice c;
    for (const LayerWeights& m : members) c.report.layer += (c.report.layer.empty() ? "" : ",") + m.stats->layer;
    c.report.samples = first.n_samples;
    c.report.method = "plain";
    c.report.output_error_plain = c.report.output_error = group_error(ones);
    std::vector<float> best = ones;
    const auto consider = [&](const std::vector<float>& s, const char* method, double alpha) {
        const double e = group_error(s);
        if (e < c.report.output_error) {
            c.report.output_error = e, c.report.method = method, c.report.alpha = alpha;
            best = s;
        }
    };
    const std::vector<float> act = activation_absmax(first);
    std::vector<float> wmax(static_cast<std::size_t>(first.channels), 0);  // over every layer of the group
    for (const LayerWeights& m : members) {
        const std::vector<float> w = weight_absmax(*m.stats, m.weights, m.rows);
        for (std::size_t j = 0; j < wmax.size(); ++j) wmax[j] = std::max(wmax[j], w[j]);
    }
    switch (cal.scaling) {
        case ChannelScaling::none:
            break;
        case ChannelScaling::smooth:  // the alpha asked for, whatever the error says
            best = smooth_factors(act, wmax, cal.smooth_alpha);
            c.report.method = "smooth", c.report.alpha = cal.smooth_alpha;
            c.report.output_error = group_error(best);
            break;
        case ChannelScaling::smooth_auto:
            for (int i = 0; i <= 10; ++i) consider(smooth_factors(act, wmax, i / 10.0), "smooth", i / 10.0);
            break;
        case ChannelScaling::awq:
            for (int i = 1; i < 20; ++i) consider(awq_factors(act, i / 20.0), "awq", i / 20.0);
            break;
    }
    if (cal.scaling == ChannelScaling::awq) {
        double e = 0, energy = 0, ratio_sum = 0;
        for (const Evaluator& ev : evs) {
            double ratio = 1;  // types without block scales are not clipped
            const bool blocks = !ev.type.ternary && ev.type.block_elems > 1;
            c.clip_bound.push_back(blocks ? ev.clip_bounds(best, ratio) : std::vector<float>{});
            ratio_sum += ratio;
            e += ev.output_error(best, false, c.clip_bound.back()) * (ev.reference_energy > 0 ? ev.reference_energy : 1);
            energy += ev.reference_energy;
        }
        const double clipped = energy > 0 ? e / energy : e;
        if (clipped < c.report.output_error) {  // per block it can only help; over the whole output, check
            c.report.output_error = clipped, c.report.clip_ratio = ratio_sum / static_cast<double>(evs.size());
            if (c.report.method == "plain") c.report.method = "awq", c.report.alpha = 0;
        } else {
            c.clip_bound.clear();
        }
    }
    if (cal.scaling != ChannelScaling::none) {
        c.smooth_scale.resize(best.size());
        for (std::size_t j = 0; j < best.size(); ++j) c.smooth_scale[j] = 1.0f / best[j];
        c.column_scale = per_column(first, best);
    }
    const std::vector<int32_t> one_group(group_of_step.size(), 0);
    double one = 0, grouped = 0;
    for (const Evaluator& ev : evs) {
        c.act.push_back(ev.act_for(best, groups, group_of_step));
        one += ev.act_error(best, 1, one_group);
        grouped += ev.act_error(best, groups, group_of_step);
    }
    c.report.act_error_one_range = one / static_cast<double>(evs.size());
    c.report.act_error = grouped / static_cast<double>(evs.size());
    return c;
}

}  // namespace lowbit::quantize
