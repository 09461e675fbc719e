// Fused fp32 self-attention for one (sequence, head): scores, softmax and P V in one pass over blocks of
// query rows, with no GEMM library calls. An AVX-512F kernel (attention_avx512.c) and a plain C kernel
// (attention.c) compute the SAME bits: the same operations in the same order, fused multiply-adds where
// the definition below says fma, nothing else fused. Imported only by the Swift module Kernels.
#ifndef STRATA_ATTENTION_H
#define STRATA_ATTENTION_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the AVX-512F attention kernel runs (the CPU has AVX-512F and FMA, and the portable path is not
/// forced by STRATA_FORCE_PORTABLE or sk_set_force_portable).
int sk_attention_simd_active(void);

/// Bytes of the 64-byte aligned scratch one call of sk_attention_head_f32 needs for `len` tokens and
/// head size `d` (a thread may reuse one scratch, sized for its longest sequence, for every call).
size_t sk_attention_scratch_bytes(size_t len, size_t d);

/// Attention of one head over one sequence of `len` tokens (len >= 1), head size d (d >= 1):
///   q, k, v: rows i = 0..<len at q + i*ldqkv (the same for k and v), d floats each.
///   For each query row i:
///     s[j]   = fma chain over t = 0..<d of q[i][t] * k[j][t], starting at +0        (j = 0..<len)
///     m      = max_j s[j]
///     e[j]   = exp(s[j] * scale - m * scale)   (products and difference each rounded; exp is Kernels'
///              fastExp polynomial, as in sk_softmax_rows_f32)
///     sum    = 16 lane sums over the full 16-wide blocks of e (lane l: e[l], e[l+16], ... in order),
///              reduced as a tree (lane l + lane l+8, then l + l+4, l + l+2, 0 + 1), then + each tail
///              element (j >= len/16*16) in order
///     p[j]   = e[j] * (1 / sum)
///     u[j]   = p[j] * mask[i][j] when `mask` is given, else p[j]
///     ctx[i][c] = fma chain over j = 0..<len of u[j] * v[j][c], starting at +0  (c = 0..<d)
///   ctx: rows at ctx + i*ldctx. probs (may be NULL): p written as [len, len] rows (stride len).
///   mask, dropped ([len, len] each, stride len): both given or both NULL; dropped <- u.
///   scratch: sk_attention_scratch_bytes(len, d) bytes, 64-byte aligned.
/// Each output element depends only on its own row's inputs, so results do not depend on how rows, heads
/// or sequences are split between calls or threads, nor on whether probs are kept.
void sk_attention_head_f32(const float *q, const float *k, const float *v, size_t ldqkv, size_t len, size_t d,
                           float scale, float *ctx, size_t ldctx, float *probs, const float *mask, float *dropped,
                           void *scratch);

#ifdef __cplusplus
}
#endif
#endif
