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

/// One row of fp32 scores (len valid) -> probabilities in place, exactly as sk_attention_head_f32's softmax
/// (no probs / mask outputs); the portable one, and the AVX-512F one (row 64-byte aligned, room for len
/// rounded up to 16; run only when sk_f32_simd_active).
void sk_att_softmax_row_portable(float *row, size_t len, float scale);
void sk_att_softmax_row_simd(float *row, size_t len, float scale);
/// dst[t][l] = src[l][t] for t < cols <= 16, l < 16 (rows l >= rows read as zero) on 32-bit lanes; dst 64-byte
/// aligned (attention_avx512.c's transpose16; run only when sk_f32_simd_active or sk_bf16_simd_active).
void sk_att_transpose16_simd(const float *src, size_t lds, int rows, size_t cols, float *dst, size_t ldd);

/// The bf16 kernel's scratch (byte offsets, each region 64-byte aligned). lenp = len rounded up to 16,
/// dp = d rounded up to 2, dpad = d rounded up to 16, len2 = len rounded up to 2.
///   kt  dp * lenp bf16     SIMD: K^T as pairs [dp/2][lenp][2] (zero past len and d); portable: K [len][dp]
///   vp  len2 * dpad bf16   SIMD: V as pairs [len2/2][dpad][2] (zero past len and d); portable: V [len2][d]
///   s   SK_ATT_BR * lenp fp32   scores -> probabilities of a block of query rows (portable: row 0)
///   pb  SK_ATT_BR * lenp bf16   bf16(p) of the block, zero past len
///   qb  SK_ATT_BR * dp bf16     bf16(q) of the block, zero past d
///   tmp 16 * dp bf16            SIMD: 16 rows of bf16(K) on their way into kt
typedef struct { size_t lenp, dp, dpad, len2, kt, vp, s, pb, qb, tmp, total; } sk_att_bf16_layout;

static inline sk_att_bf16_layout sk_att_bf16_layout_of(size_t len, size_t d) {
    sk_att_bf16_layout l;
    if (len == 0) len = 1;
    if (d == 0) d = 1;
    l.lenp = sk_att_lenp(len); l.dp = (d + 1) / 2 * 2; l.dpad = (d + 15) / 16 * 16; l.len2 = (len + 1) / 2 * 2;
#define SK_R64(b) (((b) + 63) / 64 * 64)
    l.kt = 0;
    l.vp = l.kt + SK_R64(l.dp * l.lenp * 2);
    l.s = l.vp + SK_R64(l.len2 * l.dpad * 2);
    l.pb = l.s + SK_R64(SK_ATT_BR * l.lenp * 4);
    l.qb = l.pb + SK_R64(SK_ATT_BR * l.lenp * 2);
    l.tmp = l.qb + SK_R64(SK_ATT_BR * l.dp * 2);
    l.total = l.tmp + SK_R64(16 * l.dp * 2);
#undef SK_R64
    return l;
}

void sk_attention_head_bf16_simd(const float *q, const float *k, const float *v, size_t ldqkv, size_t len, size_t d,
                                 float scale, float *ctx, size_t ldctx, unsigned char *scratch);
#endif
