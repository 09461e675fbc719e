// Internal declarations shared by the kernel files (not part of the Swift-facing API).
#ifndef SK_INTERNAL_H
#define SK_INTERNAL_H
#include <stdint.h>
#include <stddef.h>

#define SK_MR 8     // rows per micro-tile
#define SK_MC 64    // rows per cache block (activations of a block stay in L2 across the N loop)

static inline size_t sk_round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

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
