// Internal declarations shared by the kernel files (not part of the Swift-facing API).
#ifndef SK_INTERNAL_H
#define SK_INTERNAL_H
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

// Rows per cache block of the int8 / bf16 GEMMs: activations are quantized / converted one block at a
// time, and the block stays in L2 across the N loop.
#define SK_MC 64

static inline size_t sk_round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

// The portable emulation of vdpbf16ps (bf16.c's GEMM and attention_bf16.c's twin share it). Include this
// header only after `#pragma clang fp contract(off)`.

/// bf16 -> fp32 as vdpbf16ps reads its inputs: denormals as (signed) zero.
static inline float sk_bf16_to_float(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    if ((u & 0x7F800000u) == 0) u &= 0x80000000u;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/// Denormal values to signed zero, as vdpbf16ps writes its sums.
static inline float sk_flush_denormal(float v) { return fabsf(v) < FLT_MIN ? copysignf(0.0f, v) : v; }

/// One vdpbf16ps lane step: acc + a1 b1 (the odd element first), then + a0 b0, each a fused multiply-add: the
/// product unrounded (it is exact in fp32 unless it falls below fp32's normal range or overflows; then it is
/// not flushed nor made infinite before the sum), the sum rounded to nearest even; denormal inputs and sums
/// flushed to signed zero. Checked against vdpbf16ps on this repository's AMD EPYC (Zen 5) for inputs over the
/// whole exponent range: products below FLT_MIN still move the sum, and an overflowing product does not
/// give NaN against an opposite infinity; a multiply-then-add model with the product flushed differs there.
static inline float sk_dpbf16_step(float acc, uint16_t a0, uint16_t a1, uint16_t b0, uint16_t b1) {
    acc = sk_flush_denormal(fmaf(sk_bf16_to_float(a1), sk_bf16_to_float(b1), acc));
    return sk_flush_denormal(fmaf(sk_bf16_to_float(a0), sk_bf16_to_float(b0), acc));
}
/// Scratch for one kernel call: this thread's cached buffer when `bytes` fits under the per-thread cap
/// (memory.c), else a block of its own, freed by sk_scratch_release. `p` is NULL when out of memory.
typedef struct { void *p; size_t bytes; int owned; } sk_scratch;
sk_scratch sk_scratch_acquire(size_t bytes);
void sk_scratch_release(sk_scratch *s);

void sk_int8_quantize_rows_simd(const float *x, size_t m, size_t k, size_t ldx, uint8_t *xq, float *sx);
void sk_int8_gemm_simd(const uint8_t *xq, const float *sx, size_t m, size_t kp, const int8_t *packed,
                       const int32_t *colsum, const float *scales, const float *bias, size_t n,
                       float *y, size_t ldy, int32_t *acc, size_t ldacc, int epilogue);
void sk_bf16_convert_rows_simd(const float *x, size_t m, size_t k, size_t ldx, uint16_t *xb);
void sk_bf16_gemm_simd(const uint16_t *xb, size_t m, size_t kp, const uint16_t *packed, const float *bias,
                       size_t n, float *y, size_t ldy, int epilogue);
void sk_f32_gemm_simd(const float *x, size_t m, size_t k, size_t ldx, const float *packed, const float *bias,
                      size_t n, float *y, size_t ldy, int epilogue);

// MARK: GELU, shared by sk_gelu_f32 and the GEMM epilogues (compile with fp contract off).
// Kernels' geluInPlace (Activations.swift) and fastErf (FastMath.swift) with the same operations in the
// same order and no fused multiply-adds: the scalar, AVX-512 and Swift versions give the same bits.

/// fastErf: Eigen's rational approximation on [-4, 4] (inputs outside clamp; NaN stays NaN).
static inline float sk_erf1(float x) {
    float xc = x < -4.0f ? -4.0f : x;
    xc = xc > 4.0f ? 4.0f : xc;
    float x2 = xc * xc;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * xc;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

/// 0.5 v (1 + erf(v / sqrt 2)).
static inline float sk_gelu1(float v) { return (0.5f * v) * (1.0f + sk_erf1(v * 0.70710678118654752f)); }

#if defined(__x86_64__)
#include <immintrin.h>

/// The mask of lanes [0, valid) of 16 (all 16 from 16 on): a partial panel's columns or a row's tail.
static inline __mmask16 sk_lane_mask(size_t valid) { return valid >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << valid) - 1); }

/// sk_erf1 on 16 lanes.
static inline __attribute__((always_inline, target("avx512f"))) __m512 sk_erf16(__m512 x) {
    __m512 xc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-4.0f), _CMP_LT_OQ), x, _mm512_set1_ps(-4.0f));
    xc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(xc, _mm512_set1_ps(4.0f), _CMP_GT_OQ), xc, _mm512_set1_ps(4.0f));
    __m512 x2 = _mm512_mul_ps(xc, xc);
    __m512 p = _mm512_set1_ps(-2.72614225801306e-10f);
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(2.77068142495902e-08f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(-2.10102402082508e-06f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(-5.69250639462346e-05f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(-7.34990630326855e-04f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(-2.95459980854025e-03f));
    p = _mm512_add_ps(_mm512_mul_ps(p, x2), _mm512_set1_ps(-1.60960333262415e-02f));
    p = _mm512_mul_ps(p, xc);
    __m512 q = _mm512_set1_ps(-1.45660718464996e-05f);
    q = _mm512_add_ps(_mm512_mul_ps(q, x2), _mm512_set1_ps(-2.13374055278905e-04f));
    q = _mm512_add_ps(_mm512_mul_ps(q, x2), _mm512_set1_ps(-1.68282697438203e-03f));
    q = _mm512_add_ps(_mm512_mul_ps(q, x2), _mm512_set1_ps(-7.37332916720468e-03f));
    q = _mm512_add_ps(_mm512_mul_ps(q, x2), _mm512_set1_ps(-1.42647390514189e-02f));
    return _mm512_div_ps(p, q);
}

/// sk_gelu1 on 16 lanes.
static inline __attribute__((always_inline, target("avx512f"))) __m512 sk_gelu16(__m512 v) {
    __m512 e = sk_erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/// The epilogue the fp32, bf16 and int8 GEMMs share, on one tile row's two 16-column halves: + bias
/// (when `has_bias`), then GELU (when `gelu`), stored at y under the column masks m0 and m1 (m1 == 0:
/// no second half).
static inline __attribute__((always_inline, target("avx512f")))
void sk_store_row32(float *y, __m512 v0, __m512 v1, __m512 bias0, __m512 bias1, int has_bias, int gelu,
                    __mmask16 m0, __mmask16 m1) {
    if (has_bias) { v0 = _mm512_add_ps(v0, bias0); v1 = _mm512_add_ps(v1, bias1); }
    if (gelu) { v0 = sk_gelu16(v0); v1 = sk_gelu16(v1); }
    _mm512_mask_storeu_ps(y, m0, v0);
    if (m1) _mm512_mask_storeu_ps(y + 16, m1, v1);
}
#endif
#endif
