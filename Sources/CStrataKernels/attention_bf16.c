// bf16 attention of one (sequence, head) for inference: the portable C kernel (the definition in
// strata_attention.h, scalar, emulating each vdpbf16ps lane step with sk_dpbf16_step, so the same bits as
// the AVX-512 BF16 kernel of attention_bf16_avx512.c) and the dispatch between the two.
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "strata_attention.h"
#include "sk_internal.h"
#include "sk_attention_internal.h"
#include <string.h>

int sk_attention_bf16_simd_active(void) { return sk_bf16_simd_active(); }

size_t sk_attention_bf16_scratch_bytes(size_t len, size_t d) { return sk_att_bf16_layout_of(len, d).total; }

// kb [len][dp] = bf16(K), vb [len2][d] = bf16(V) (zero row past len), then per query row i: qb = bf16(q_i),
// s = qb . kb_j (vdpbf16ps chains), softmax, pb = bf16(p) (zero past len), ctx_i = pb V (vdpbf16ps chains).
static void head_bf16_portable(const float *q, const float *k, const float *v, size_t ld, size_t len, size_t d,
                               float scale, float *ctx, size_t ldctx, unsigned char *scratch) {
    const sk_att_bf16_layout l = sk_att_bf16_layout_of(len, d);
    uint16_t *kb = (uint16_t *)(scratch + l.kt), *vb = (uint16_t *)(scratch + l.vp);
    uint16_t *pb = (uint16_t *)(scratch + l.pb), *qb = (uint16_t *)(scratch + l.qb);
    float *row = (float *)(scratch + l.s);
    const size_t dp = l.dp, len2 = l.len2;
    for (size_t j = 0; j < len; j++) {
        for (size_t t = 0; t < d; t++) kb[j * dp + t] = sk_bf16_from_float(k[j * ld + t]);
        for (size_t t = d; t < dp; t++) kb[j * dp + t] = 0;
        for (size_t c = 0; c < d; c++) vb[j * d + c] = sk_bf16_from_float(v[j * ld + c]);
    }
    for (size_t j = len; j < len2; j++) for (size_t c = 0; c < d; c++) vb[j * d + c] = 0;
    for (size_t i = 0; i < len; i++) {
        for (size_t t = 0; t < d; t++) qb[t] = sk_bf16_from_float(q[i * ld + t]);
        for (size_t t = d; t < dp; t++) qb[t] = 0;
        for (size_t j = 0; j < len; j++) {                        // s[j] = bf16(q_i) . bf16(k_j)
            const uint16_t *kj = kb + j * dp;
            float acc = 0.0f;
            for (size_t g = 0; g < dp / 2; g++) acc = sk_dpbf16_step(acc, qb[2 * g], qb[2 * g + 1], kj[2 * g], kj[2 * g + 1]);
            row[j] = acc;
        }
        sk_att_softmax_row_portable(row, len, scale);
        for (size_t j = 0; j < len; j++) pb[j] = sk_bf16_from_float(row[j]);
        for (size_t j = len; j < len2; j++) pb[j] = 0;
        for (size_t c = 0; c < d; c++) {                          // ctx_i = bf16(p) bf16(V)
            float acc = 0.0f;
            for (size_t g = 0; g < len2 / 2; g++)
                acc = sk_dpbf16_step(acc, pb[2 * g], pb[2 * g + 1], vb[2 * g * d + c], vb[(2 * g + 1) * d + c]);
            ctx[i * ldctx + c] = acc;
        }
    }
}

void sk_attention_head_bf16(const float *q, const float *k, const float *v, size_t ldqkv, size_t len, size_t d,
                            float scale, float *ctx, size_t ldctx, void *scratch) {
    if (len == 0 || d == 0) return;
#if defined(__x86_64__)
    if (sk_attention_bf16_simd_active()) {
        sk_attention_head_bf16_simd(q, k, v, ldqkv, len, d, scale, ctx, ldctx, (unsigned char *)scratch);
        return;
    }
#endif
    head_bf16_portable(q, k, v, ldqkv, len, d, scale, ctx, ldctx, (unsigned char *)scratch);
}
