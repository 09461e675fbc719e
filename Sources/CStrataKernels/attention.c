// Fused attention of one (sequence, head): the portable C kernel (the definition in strata_attention.h,
// scalar, in the order the AVX-512F kernel of attention_avx512.c uses lane by lane, so the same bits) and
// the dispatch between the two.
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "strata_attention.h"
#include "sk_attention_internal.h"
#include <math.h>
#include <stdint.h>
#include <string.h>

int sk_attention_simd_active(void) { return sk_f32_simd_active(); }

size_t sk_attention_scratch_bytes(size_t len, size_t d) {
    size_t lenp = sk_att_lenp(len ? len : 1);
    return (d + SK_ATT_BR) * lenp * sizeof(float);
}

/// FastMath.swift fastExp for one value (the lane operation of sk_exp16; every step rounded alone).
static float exp_scalar(float x) {
    float v = x < -87.3f ? -87.3f : x;
    v = v > 88.3f ? 88.3f : v;
    const float shifter = 12582912.0f;
    float t = v * 1.44269504088896341f + shifter;
    float n = t - shifter;
    float r = v - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    uint32_t tb, eb;
    memcpy(&tb, &t, 4);
    eb = ((tb - 0x4B400000u) + 127u) << 23;
    float two_n;
    memcpy(&two_n, &eb, 4);
    return p * two_n;
}

// q, k, v rows [len][d] at stride ld; row: scratch of len floats (s, e, p, u of one query row in turn).
static void head_portable(const float *q, const float *k, const float *v, size_t ld, size_t len, size_t d,
                          float scale, float *ctx, size_t ldctx, float *probs, const float *mask, float *dropped,
                          float *row) {
    const size_t full = len / 16 * 16;
    for (size_t i = 0; i < len; i++) {
        const float *qi = q + i * ld;
        for (size_t j = 0; j < len; j++) {                       // s[j] = q_i . k_j
            const float *kj = k + j * ld;
            float acc = 0.0f;
            for (size_t t = 0; t < d; t++) acc = fmaf(qi[t], kj[t], acc);
            row[j] = acc;
        }
        float mx = -INFINITY;
        for (size_t j = 0; j < len; j++) mx = row[j] > mx ? row[j] : mx;
        const float shift = mx * scale;
        float lanes[16] = {0};
        for (size_t j = 0; j < full; j++) { row[j] = exp_scalar(row[j] * scale - shift); lanes[j % 16] += row[j]; }
        for (int w = 8; w >= 1; w /= 2)                           // tree over the lanes: l + 8, + 4, + 2, + 1
            for (int l = 0; l < w; l++) lanes[l] = lanes[l] + lanes[l + w];
        float sum = lanes[0];
        for (size_t j = full; j < len; j++) { row[j] = exp_scalar(row[j] * scale - shift); sum += row[j]; }
        const float inv = 1.0f / sum;
        for (size_t j = 0; j < len; j++) row[j] = row[j] * inv;
        if (probs) memcpy(probs + i * len, row, len * sizeof(float));
        if (mask) {
            for (size_t j = 0; j < len; j++) { row[j] = row[j] * mask[i * len + j]; dropped[i * len + j] = row[j]; }
        }
        for (size_t c = 0; c < d; c++) {                         // ctx_i = u V
            float acc = 0.0f;
            for (size_t j = 0; j < len; j++) acc = fmaf(row[j], v[j * ld + c], acc);
            ctx[i * ldctx + c] = acc;
        }
    }
}

void sk_attention_head_f32(const float *q, const float *k, const float *v, size_t ldqkv, size_t len, size_t d,
                           float scale, float *ctx, size_t ldctx, float *probs, const float *mask, float *dropped,
                           void *scratch) {
    if (len == 0 || d == 0) return;
#if defined(__x86_64__)
    if (sk_attention_simd_active()) {
        sk_attention_head_simd(q, k, v, ldqkv, len, d, scale, ctx, ldctx, probs, mask, dropped, (float *)scratch);
        return;
    }
#endif
    head_portable(q, k, v, ldqkv, len, d, scale, ctx, ldctx, probs, mask, dropped, (float *)scratch);
}
