// The AVX-512 VNNI int8 GEMM (vpdpbusd: u8 x s8, four products summed into each int32 lane) and the
// row quantizer. Compiled for any x86-64: only these functions carry the AVX-512 target attribute,
// and they are called only after cpu.c found the features.
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "sk_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <float.h>
#include <math.h>
#include <string.h>

// Rows per micro-tile: 16 accumulators + 2 weight vectors + a broadcast of 32 zmm. (12 rows, as the fp32
// kernel uses, measured 3-10% slower single-threaded on this Zen 5 at the encoder's shapes.)
#define INT8_MR 8
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))


/// q = clamp(round_half_even(v * inv), -127, 127) on 16 lanes, as int32.
static inline __attribute__((always_inline)) TGT __m512i quantize16(__m512 v, __m512 inv) {
    __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v, inv));   // RNE; NaN and overflow give INT_MIN -> -127
    return _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(-127)), _mm512_set1_epi32(127));
}

TGT void sk_int8_quantize_rows_simd(const float *x, size_t m, size_t k, size_t ldx, uint8_t *xq, float *sx) {
    size_t kp = sk_int8_padded_k(k);
    const __m512i off = _mm512_set1_epi32(128);
    // packs_epi32 then packs_epi16 interleave four vectors a, b, c, d by 128-bit lane (lane L holds
    // a[4L..4L+3], b[4L..], c[4L..], d[4L..]); this dword permutation restores a, b, c, d in order.
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    const __m512i flip = _mm512_set1_epi8((char)0x80);           // q + 128 as a byte: q xor 0x80
    for (size_t i = 0; i < m; i++) {
        const float *row = x + i * ldx;
        // max |x| over four independent chains (max is exact, so the order does not matter)
        __m512 m0 = _mm512_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
        const size_t full = k / 16 * 16;
        size_t p = 0;
        for (; p + 64 <= full; p += 64) {
            m0 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + p)), m0);
            m1 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + p + 16)), m1);
            m2 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + p + 32)), m2);
            m3 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + p + 48)), m3);
        }
        for (; p < full; p += 16) m0 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(row + p)), m0);
        if (full < k) m1 = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(sk_lane_mask(k - full), row + full)), m1);
        float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3)));
        float inv = amax > 0 ? fminf(127.0f / amax, FLT_MAX) : 0.0f;   // as int8.c's row_scale
        sx[i] = amax / 127.0f;
        __m512 vinv = _mm512_set1_ps(inv);
        uint8_t *out = xq + i * kp;
        // 64 values a step packed into one plain 64-byte store (the clamp keeps the packs from
        // saturating), then 16 a step, then the masked tail (masked byte stores are slow on some cores).
        p = 0;
        for (; p + 64 <= full; p += 64) {
            __m512i a = quantize16(_mm512_loadu_ps(row + p), vinv), b = quantize16(_mm512_loadu_ps(row + p + 16), vinv);
            __m512i c = quantize16(_mm512_loadu_ps(row + p + 32), vinv), d = quantize16(_mm512_loadu_ps(row + p + 48), vinv);
            __m512i bytes = _mm512_packs_epi16(_mm512_packs_epi32(a, b), _mm512_packs_epi32(c, d));
            bytes = _mm512_xor_si512(_mm512_permutexvar_epi32(order, bytes), flip);
            _mm512_storeu_si512((void *)(out + p), bytes);
        }
        for (; p < full; p += 16) {
            __m512i q = _mm512_add_epi32(quantize16(_mm512_loadu_ps(row + p), vinv), off);
            _mm_storeu_si128((__m128i *)(out + p), _mm512_cvtepi32_epi8(q));
        }
        if (full < k) {
            __mmask16 mk = sk_lane_mask(k - full);
            __m512i q = _mm512_add_epi32(quantize16(_mm512_maskz_loadu_ps(mk, row + full), vinv), off);
            _mm_mask_storeu_epi8(out + full, mk, _mm512_cvtepi32_epi8(q));
        }
        for (size_t p2 = k; p2 < kp; p2++) out[p2] = 128;
    }
}

/// One micro-tile: rows [0, MR) of `a` (xq rows, stride kp) x 32 output channels (two panels).
/// c[r][h] (16 int32 lanes) accumulates sum_k a[r, k] * w[n0 + 16h + lane, k] over the whole K.
static inline __attribute__((always_inline)) TGT
void tile(const int MR, const uint8_t *a, size_t kp, const int8_t *b0, const int8_t *b1,
          __m512i corr0, __m512i corr1, const float *sx, __m512 sw0, __m512 sw1, __m512 bias0, __m512 bias1,
          int has_bias, int gelu, float *y, size_t ldy, int32_t *acc, size_t ldacc, __mmask16 m0, __mmask16 m1) {
    __m512i c[INT8_MR][2];
    for (int r = 0; r < MR; r++) { c[r][0] = _mm512_setzero_si512(); c[r][1] = _mm512_setzero_si512(); }
    const size_t groups = kp / 4;
    for (size_t g = 0; g < groups; g++) {
        __m512i w0 = _mm512_loadu_si512((const void *)(b0 + g * 64));
        __m512i w1 = _mm512_loadu_si512((const void *)(b1 + g * 64));
        for (int r = 0; r < MR; r++) {
            int32_t quad;
            memcpy(&quad, a + r * kp + g * 4, 4);
            __m512i av = _mm512_set1_epi32(quad);
            c[r][0] = _mm512_dpbusd_epi32(c[r][0], av, w0);
            c[r][1] = _mm512_dpbusd_epi32(c[r][1], av, w1);
        }
    }
    for (int r = 0; r < MR; r++) {
        __m512i s0 = _mm512_sub_epi32(c[r][0], corr0), s1 = _mm512_sub_epi32(c[r][1], corr1);
        if (acc) {
            _mm512_mask_storeu_epi32(acc + r * ldacc, m0, s0);
            if (m1) _mm512_mask_storeu_epi32(acc + r * ldacc + 16, m1, s1);
            continue;
        }
        __m512 rs = _mm512_set1_ps(sx[r]);
        __m512 v0 = _mm512_mul_ps(_mm512_cvtepi32_ps(s0), _mm512_mul_ps(rs, sw0));
        __m512 v1 = _mm512_mul_ps(_mm512_cvtepi32_ps(s1), _mm512_mul_ps(rs, sw1));
        sk_store_row32(y + r * ldy, v0, v1, bias0, bias1, has_bias, gelu, m0, m1);
    }
}

TGT void sk_int8_gemm_simd(const uint8_t *xq, const float *sx, size_t m, size_t kp, const int8_t *packed,
                           const int32_t *colsum, const float *scales, const float *bias, size_t n,
                           float *y, size_t ldy, int32_t *acc, size_t ldacc, int epilogue) {
    const int gelu = epilogue == SK_EPILOGUE_GELU;
    const size_t panel_bytes = kp * SK_PANEL;
    for (size_t i0 = 0; i0 < m; i0 += SK_MC) {
        size_t mc = m - i0 < SK_MC ? m - i0 : SK_MC;
        for (size_t n0 = 0; n0 < n; n0 += SK_NR) {
            __mmask16 m0 = sk_lane_mask(n - n0), m1 = n - n0 > 16 ? sk_lane_mask(n - n0 - 16) : 0;
            const int8_t *b0 = packed + (n0 / SK_PANEL) * panel_bytes, *b1 = b0 + panel_bytes;
            __m512i corr0 = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(m0, colsum + n0), 7);
            __m512i corr1 = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(m1, colsum + n0 + 16), 7);
            __m512 sw0 = _mm512_setzero_ps(), sw1 = _mm512_setzero_ps(), bs0 = _mm512_setzero_ps(), bs1 = _mm512_setzero_ps();
            if (scales) { sw0 = _mm512_maskz_loadu_ps(m0, scales + n0); sw1 = _mm512_maskz_loadu_ps(m1, scales + n0 + 16); }
            if (bias) { bs0 = _mm512_maskz_loadu_ps(m0, bias + n0); bs1 = _mm512_maskz_loadu_ps(m1, bias + n0 + 16); }
            for (size_t i = i0; i < i0 + mc; i += INT8_MR) {
                size_t mr = i0 + mc - i < INT8_MR ? i0 + mc - i : INT8_MR;
                const uint8_t *a = xq + i * kp;
                const float *rs = sx ? sx + i : NULL;
                float *yo = y ? y + i * ldy + n0 : NULL;
                int32_t *ao = acc ? acc + i * ldacc + n0 : NULL;
#define T(R) case R: tile(R, a, kp, b0, b1, corr0, corr1, rs, sw0, sw1, bs0, bs1, bias != NULL, gelu, yo, ldy, ao, ldacc, m0, m1); break;
                switch (mr) { T(1) T(2) T(3) T(4) T(5) T(6) T(7) T(8) }
#undef T
            }
        }
    }
}
#endif  // __x86_64__
