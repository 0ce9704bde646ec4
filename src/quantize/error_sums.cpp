#include "error_sums.hpp"

#include <algorithm>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace lowbit::quantize {
namespace {

constexpr std::size_t kLanes = 8;

struct Lanes {
    double d[kLanes] = {}, r[kLanes] = {}, a[kLanes] = {}, e[kLanes] = {}, m[kLanes] = {};

    void add(std::size_t l, float ref, float approx) {
        const double x = ref, y = approx, z = x - y;
        d[l] += x * y;
        r[l] += x * x;
        a[l] += y * y;
        e[l] += z * z;
        m[l] = std::max(m[l], z < 0 ? -z : z);
    }
    void merge_into(ErrorSums& s) const {
        for (std::size_t l = 0; l < kLanes; ++l) {
            s.dot += d[l];
            s.ref2 += r[l];
            s.approx2 += a[l];
            s.err2 += e[l];
            s.max_err = std::max(s.max_err, m[l]);
        }
    }
};

// Elements past the last whole group of 8 go to lanes 0, 1, ... in order.
void add_tail(const float* ref, const float* approx, std::size_t begin, std::size_t n, Lanes& lanes) {
    for (std::size_t i = begin, l = 0; i < n; ++i, ++l) lanes.add(l, ref[i], approx[i]);
}

void add_portable(const float* ref, const float* approx, std::size_t n, ErrorSums& s) {
    Lanes lanes;
    std::size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        for (std::size_t l = 0; l < kLanes; ++l) lanes.add(l, ref[i + l], approx[i + l]);
    }
    add_tail(ref, approx, i, n, lanes);
    lanes.merge_into(s);
}

#if defined(__x86_64__)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
// GCC 12 flags the intrinsics' own undefined-register idiom when they are inlined into a
// target("avx512f") function
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// The same operations lane by lane (multiplies and adds rounded apart, as the portable code
// compiled without contraction does).
__attribute__((target("avx512f"))) void add_avx512(const float* ref, const float* approx, std::size_t n,
                                                   ErrorSums& s) {
    __m512d d = _mm512_setzero_pd(), r = d, a = d, e = d, m = d;
    const __m512d sign = _mm512_set1_pd(-0.0);
    std::size_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        const __m512d x = _mm512_cvtps_pd(_mm256_loadu_ps(ref + i));
        const __m512d y = _mm512_cvtps_pd(_mm256_loadu_ps(approx + i));
        const __m512d z = _mm512_sub_pd(x, y);
        d = _mm512_add_pd(d, _mm512_mul_pd(x, y));
        r = _mm512_add_pd(r, _mm512_mul_pd(x, x));
        a = _mm512_add_pd(a, _mm512_mul_pd(y, y));
        e = _mm512_add_pd(e, _mm512_mul_pd(z, z));
        m = _mm512_max_pd(m, _mm512_castsi512_pd(
                                 _mm512_andnot_si512(_mm512_castpd_si512(sign), _mm512_castpd_si512(z))));
    }
    Lanes lanes;
    _mm512_storeu_pd(lanes.d, d);
    _mm512_storeu_pd(lanes.r, r);
    _mm512_storeu_pd(lanes.a, a);
    _mm512_storeu_pd(lanes.e, e);
    _mm512_storeu_pd(lanes.m, m);
    add_tail(ref, approx, i, n, lanes);
    lanes.merge_into(s);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif

}  // namespace

void add_error_sums(const float* ref, const float* approx, std::size_t n, ErrorSums& s) {
#if defined(__x86_64__)
    static const bool avx512 = __builtin_cpu_supports("avx512f");
    if (avx512) {
        add_avx512(ref, approx, n, s);
        return;
    }
#endif
    add_portable(ref, approx, n, s);
}

}  // namespace lowbit::quantize
