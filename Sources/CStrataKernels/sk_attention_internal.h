// Internal declarations of the fused attention (attention.c, attention_avx512.c); not part of the Swift API.
#ifndef SK_ATTENTION_INTERNAL_H
#define SK_ATTENTION_INTERNAL_H
#include <stddef.h>

/// Query rows per block: their scores / probabilities sit in scratch rows while P V is formed.
#define SK_ATT_BR 8

/// Scratch layout (floats; lenp = len rounded up to 16, so every row starts 64-byte aligned):
///   kt [d][lenp]        K^T of the head, zero past len      (SIMD path only)
///   s  [SK_ATT_BR][lenp] scores -> probabilities of a block of query rows (the portable path uses row 0)
static inline size_t sk_att_lenp(size_t len) { return (len + 15) / 16 * 16; }

void sk_attention_head_simd(const float *q, const float *k, const float *v, size_t ldqkv, size_t len, size_t d,
                            float scale, float *ctx, size_t ldctx, float *probs, const float *mask, float *dropped,
                            float *scratch);
#endif
