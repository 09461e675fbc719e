// The AVX-512 BF16 GEMM (vdpbf16ps: pairs of bf16 products accumulated into fp32 lanes) and the
// fp32 -> bf16 row conversion (vcvtneps2bf16). Only these functions carry the target attribute;
// they run only after cpu.c found AVX512_BF16.
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "sk_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

// Rows per micro-tile: 16 accumulators + 2 weight vectors + a broadcast of 32 zmm. (12 rows, as the fp32
// kernel uses, measured 3-10% slower single-threaded on this Zen 5 at the encoder's shapes.)
#define BF16_MR 8
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))


TGT void sk_bf16_convert_rows_simd(const float *x, size_t m, size_t k, size_t ldx, uint16_t *xb) {
    size_t kp = sk_bf16_padded_k(k);
    for (size_t i = 0; i < m; i++) {
        const float *row = x + i * ldx;
        uint16_t *out = xb + i * kp;
        // 32 values a step with plain loads and stores (masked stores are slow on AMD cores), then 16,
        // then the masked tail. vcvtne2ps2bf16 rounds exactly as vcvtneps2bf16.
        size_t p = 0;
        for (; p + 32 <= k; p += 32) {
            __m512bh h = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(row + p + 16), _mm512_loadu_ps(row + p));
            _mm512_storeu_si512((void *)(out + p), (__m512i)h);
        }
        for (; p + 16 <= k; p += 16) _mm256_storeu_si256((__m256i *)(out + p), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(row + p)));
        if (p < k) {
            __mmask16 mk = sk_lane_mask(k - p);
            __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mk, row + p));
            _mm256_mask_storeu_epi16(out + p, mk, (__m256i)h);
        }
        for (size_t p = k; p < kp; p++) out[p] = 0;
    }
}

/// One micro-tile: rows [0, MR) of `a` (bf16 rows, stride kp) x 32 output channels (two panels).
static inline __attribute__((always_inline)) TGT
void tile(const int MR, const uint16_t *a, size_t kp, const uint16_t *b0, const uint16_t *b1,
          __m512 bias0, __m512 bias1, int has_bias, int gelu, float *y, size_t ldy, __mmask16 m0, __mmask16 m1) {
    __m512 c[BF16_MR][2];
    for (int r = 0; r < MR; r++) { c[r][0] = _mm512_setzero_ps(); c[r][1] = _mm512_setzero_ps(); }
    const size_t pairs = kp / 2;
    for (size_t g = 0; g < pairs; g++) {
        __m512bh w0 = (__m512bh)_mm512_loadu_si512((const void *)(b0 + g * 32));
        __m512bh w1 = (__m512bh)_mm512_loadu_si512((const void *)(b1 + g * 32));
        for (int r = 0; r < MR; r++) {
            int32_t pair;
            memcpy(&pair, a + r * kp + g * 2, 4);
            __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
            c[r][0] = _mm512_dpbf16_ps(c[r][0], av, w0);
            c[r][1] = _mm512_dpbf16_ps(c[r][1], av, w1);
        }
    }
    for (int r = 0; r < MR; r++) {
        __m512 v0 = c[r][0], v1 = c[r][1];
        sk_store_row32(y + r * ldy, v0, v1, bias0, bias1, has_bias, gelu, m0, m1);
    }
}

TGT void sk_bf16_gemm_simd(const uint16_t *xb, size_t m, size_t kp, const uint16_t *packed, const float *bias,
                           size_t n, float *y, size_t ldy, int epilogue) {
    const int gelu = epilogue == SK_EPILOGUE_GELU;
    const size_t panel_elems = kp * SK_PANEL;
    for (size_t i0 = 0; i0 < m; i0 += SK_MC) {
        size_t mc = m - i0 < SK_MC ? m - i0 : SK_MC;
        for (size_t n0 = 0; n0 < n; n0 += SK_NR) {
            __mmask16 m0 = sk_lane_mask(n - n0), m1 = n - n0 > 16 ? sk_lane_mask(n - n0 - 16) : 0;
            const uint16_t *b0 = packed + (n0 / SK_PANEL) * panel_elems, *b1 = b0 + panel_elems;
            __m512 bs0 = _mm512_setzero_ps(), bs1 = _mm512_setzero_ps();
            if (bias) { bs0 = _mm512_maskz_loadu_ps(m0, bias + n0); bs1 = _mm512_maskz_loadu_ps(m1, bias + n0 + 16); }
            for (size_t i = i0; i < i0 + mc; i += BF16_MR) {
                size_t mr = i0 + mc - i < BF16_MR ? i0 + mc - i : BF16_MR;
                const uint16_t *a = xb + i * kp;
                float *yo = y + i * ldy + n0;
#define T(R) case R: tile(R, a, kp, b0, b1, bs0, bs1, bias != NULL, gelu, yo, ldy, m0, m1); break;
                switch (mr) { T(1) T(2) T(3) T(4) T(5) T(6) T(7) T(8) }
#undef T
            }
        }
    }
}
#endif  // __x86_64__
