// Internal declarations shared by the kernel files (not part of the Swift-facing API).
#ifndef SK_INTERNAL_H
#define SK_INTERNAL_H
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>

#define SK_MR 8     // rows per micro-tile
#define SK_MC 64    // rows per cache block (activations of a block stay in L2 across the N loop)

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
/// flushed to signed zero. Checked against vdpbf16ps on this repository's AMD EPYC (Zen 4) for inputs over the
/// whole exponent range: products below FLT_MIN still move the sum, and an overflowing product does not
/// give NaN against an opposite infinity; a multiply-then-add model with the product flushed differs there.
static inline float sk_dpbf16_step(float acc, uint16_t a0, uint16_t a1, uint16_t b0, uint16_t b1) {
    acc = sk_flush_denormal(fmaf(sk_bf16_to_float(a1), sk_bf16_to_float(b1), acc));
    return sk_flush_denormal(fmaf(sk_bf16_to_float(a0), sk_bf16_to_float(b0), acc));
}

void sk_int8_quantize_rows_simd(const float *x, size_t m, size_t k, size_t ldx, uint8_t *xq, float *sx);
void sk_int8_gemm_simd(const uint8_t *xq, const float *sx, size_t m, size_t kp, const int8_t *packed,
                       const int32_t *colsum, const float *scales, const float *bias, size_t n,
                       float *y, size_t ldy, int32_t *acc, size_t ldacc);
void sk_bf16_convert_rows_simd(const float *x, size_t m, size_t k, size_t ldx, uint16_t *xb);
void sk_bf16_gemm_simd(const uint16_t *xb, size_t m, size_t kp, const uint16_t *packed, const float *bias,
                       size_t n, float *y, size_t ldy);
void sk_f32_gemm_simd(const float *x, size_t m, size_t k, size_t ldx, const float *packed, const float *bias,
                      size_t n, float *y, size_t ldy);
#endif
