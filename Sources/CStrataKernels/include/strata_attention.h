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

// MARK: bf16 (inference only: no probabilities kept, no dropout)

/// 1 when the AVX-512 BF16 attention kernel runs (the CPU has AVX512_BF16, and the portable path is not
/// forced), as sk_bf16_simd_active.
int sk_attention_bf16_simd_active(void);

/// Bytes of the 64-byte aligned scratch one call of sk_attention_head_bf16 needs (reusable as above).
size_t sk_attention_bf16_scratch_bytes(size_t len, size_t d);

/// Attention of one head in bf16 with fp32 accumulation, for inference. bf16(x) is sk_bf16_from_float
/// (round to nearest even, denormals to zero: vcvtneps2bf16); a "vdpbf16ps chain" over pairs g, starting
/// at +0, does per pair acc = flush(fma(a[2g+1], b[2g+1], acc)) then acc = flush(fma(a[2g], b[2g], acc))
/// (products unrounded, sums rounded to nearest even, denormal inputs and sums flushed to signed zero; see
/// sk_dpbf16_step in sk_internal.h). dp = d rounded up to 2, len2 = len rounded up to 2; missing elements
/// of the last pair are zero. Inputs as in sk_attention_head_f32. For each query row i:
///     s[j]   = vdpbf16ps chain over g < dp/2 of bf16(q[i][t]) * bf16(k[j][t]), t = 2g, 2g+1   (j < len)
///     m, e[j], sum, p[j] exactly as sk_attention_head_f32 (fp32; the scale is applied to the fp32 scores
///              s[j] * scale - m * scale, after the bf16 dot products, as in fp32)
///     ctx[i][c] = vdpbf16ps chain over g < len2/2 of bf16(p[j]) * bf16(v[j][c]), j = 2g, 2g+1
///   (no mask: u = p). Each output element depends only on its own row's inputs (as above).
/// The AVX-512 BF16 kernel (attention_bf16_avx512.c) and the portable C kernel (attention_bf16.c) compute
/// the same bits.
void sk_attention_head_bf16(const float *q, const float *k, const float *v, size_t ldqkv, size_t len, size_t d,
                            float scale, float *ctx, size_t ldctx, void *scratch);

#ifdef __cplusplus
}
#endif
#endif
