// The AVX-512 BF16 attention of one (sequence, head) for inference (definition in strata_attention.h):
//   kt [dp/2][lenp] bf16 pairs = K_h^T     (rows of bf16(K) transposed as 32-bit pairs, zero past len and d)
//   vp [len2/2][dpad] bf16 pairs = V_h     (pairs of consecutive keys per channel, zero past len and d)
// then for each block of SK_ATT_BR query rows
//   qb [BR, dp] = bf16(q_blk)
//   scores s [BR, lenp] = qb kt         tiles of R rows x 32 keys: one vdpbf16ps per row, key vector and pair of t
//   softmax in fp32, in place (sk_att_softmax_row_simd); pb [BR, lenp] = bf16(p), zero past len
//   context ctx_blk [BR, d] = pb vp     tiles of R rows x 32 channels: one vdpbf16ps per row, channel vector and
//                                        pair of keys
// Each vdpbf16ps lane accumulates in the order sk_dpbf16_step emulates, so attention_bf16.c gives the same bits.
// Only these functions carry the target attribute; they run only after cpu.c found AVX512_BF16.
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "strata_attention.h"
#include "sk_internal.h"
#include "sk_attention_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#define BR SK_ATT_BR


/// out[0..<np] = bf16(x[0..<n]) then zeros (vcvtneps2bf16, as sk_bf16_from_float).
static inline __attribute__((always_inline)) TGT void convert_row(const float *x, size_t n, size_t np, uint16_t *out) {
    for (size_t p = 0; p < np; p += 16) {
        __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(sk_lane_mask(n > p ? n - p : 0), x + p));
        _mm256_mask_storeu_epi16(out + p, sk_lane_mask(np - p), (__m256i)h);
    }
}

/// s[r][0..<16 NV] = vdpbf16ps chain over pairs g of qb[r][2g, 2g+1] * kt[g][0..<16 NV], for r < R.
static inline __attribute__((always_inline)) TGT
void score_tile(const int R, const int NV, const uint16_t *qb, size_t dp, const uint32_t *kt, size_t lenp, float *s) {
    __m512 c[BR][2];
    for (int r = 0; r < R; r++) { c[r][0] = _mm512_setzero_ps(); c[r][1] = _mm512_setzero_ps(); }
    for (size_t g = 0; g < dp / 2; g++) {
        __m512bh k0 = (__m512bh)_mm512_load_si512((const void *)(kt + g * lenp));
        __m512bh k1 = NV > 1 ? (__m512bh)_mm512_load_si512((const void *)(kt + g * lenp + 16)) : k0;
        for (int r = 0; r < R; r++) {
            int32_t pair;
            memcpy(&pair, qb + r * dp + 2 * g, 4);
            __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
            c[r][0] = _mm512_dpbf16_ps(c[r][0], a, k0);
            if (NV > 1) c[r][1] = _mm512_dpbf16_ps(c[r][1], a, k1);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm512_store_ps(s + r * lenp, c[r][0]);
        if (NV > 1) _mm512_store_ps(s + r * lenp + 16, c[r][1]);
    }
}

/// ctx[r][0..<16 NV] (lanes m0, m1) = vdpbf16ps chain over key pairs g < pairs of pb[r][2g, 2g+1] *
/// vp[g][0..<16 NV], for r < R.
static inline __attribute__((always_inline)) TGT
void context_tile(const int R, const int NV, const uint16_t *pb, size_t lenp, const uint16_t *vp, size_t dpad,
                  size_t pairs, __mmask16 m0, __mmask16 m1, float *ctx, size_t ldctx) {
    __m512 c[BR][2];
    for (int r = 0; r < R; r++) { c[r][0] = _mm512_setzero_ps(); c[r][1] = _mm512_setzero_ps(); }
    for (size_t g = 0; g < pairs; g++) {
        __m512bh v0 = (__m512bh)_mm512_load_si512((const void *)(vp + g * dpad * 2));
        __m512bh v1 = NV > 1 ? (__m512bh)_mm512_load_si512((const void *)(vp + g * dpad * 2 + 32)) : v0;
        for (int r = 0; r < R; r++) {
            int32_t pair;
            memcpy(&pair, pb + r * lenp + 2 * g, 4);
            __m512bh a = (__m512bh)_mm512_set1_epi32(pair);
            c[r][0] = _mm512_dpbf16_ps(c[r][0], a, v0);
            if (NV > 1) c[r][1] = _mm512_dpbf16_ps(c[r][1], a, v1);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm512_mask_storeu_ps(ctx + r * ldctx, m0, c[r][0]);
        if (NV > 1) _mm512_mask_storeu_ps(ctx + r * ldctx + 16, m1, c[r][1]);
    }
}

TGT void sk_attention_head_bf16_simd(const float *q, const float *k, const float *v, size_t ld, size_t len, size_t d,
                                     float scale, float *ctx, size_t ldctx, unsigned char *scratch) {
    const sk_att_bf16_layout l = sk_att_bf16_layout_of(len, d);
    const size_t lenp = l.lenp, dp = l.dp, dpad = l.dpad, pairs = l.len2 / 2;
    uint32_t *kt = (uint32_t *)(scratch + l.kt);
    uint16_t *vp = (uint16_t *)(scratch + l.vp), *pb = (uint16_t *)(scratch + l.pb), *qb = (uint16_t *)(scratch + l.qb);
    uint16_t *tmp = (uint16_t *)(scratch + l.tmp);
    float *s = (float *)(scratch + l.s);
    const int f32_softmax = sk_f32_simd_active();   // the same bits either way; AVX-512F's is faster
    // kt: 16 keys at a time, bf16 rows [16][dp] in tmp, transposed as [16][dp/2] 32-bit pairs
    for (size_t j0 = 0; j0 < len; j0 += 16) {
        const int rows = (int)(len - j0 < 16 ? len - j0 : 16);
        for (int r = 0; r < rows; r++) convert_row(k + (j0 + (size_t)r) * ld, d, dp, tmp + (size_t)r * dp);
        for (size_t g0 = 0; g0 < dp / 2; g0 += 16)
            sk_att_transpose16_simd((const float *)tmp + g0, dp / 2, rows, dp / 2 - g0 < 16 ? dp / 2 - g0 : 16,
                                    (float *)(kt + g0 * lenp + j0), lenp);
    }
    // vp: keys 2g and 2g+1 converted together (vcvtne2ps2bf16: [even 0..15 | odd 0..15]), then interleaved
    const __m512i inter = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                           23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    for (size_t g = 0; g < pairs; g++) {
        const float *ve = v + 2 * g * ld, *vo = 2 * g + 1 < len ? v + (2 * g + 1) * ld : NULL;
        for (size_t c0 = 0; c0 < dpad; c0 += 16) {
            const __mmask16 m = sk_lane_mask(d - c0);
            __m512 e = _mm512_maskz_loadu_ps(m, ve + c0), o = vo ? _mm512_maskz_loadu_ps(m, vo + c0) : _mm512_setzero_ps();
            __m512i x = (__m512i)_mm512_cvtne2ps_pbh(o, e);
            _mm512_store_si512((void *)(vp + (g * dpad + c0) * 2), _mm512_permutexvar_epi16(inter, x));
        }
    }
    for (size_t i0 = 0; i0 < len; i0 += BR) {
        const int rows = (int)(len - i0 < BR ? len - i0 : BR);
        // the next head's q, k, v (d floats further along the same rows: attentionForward runs a sequence's heads
        // in turn) of this block's rows into L2, while this block computes: the rows are ld apart, so the packing
        // passes above would otherwise wait on each row's lines (prefetches never fault; past the last head they
        // fetch lines that are not used)
        for (int r = 0; r < rows; r++) {
            const size_t o = (i0 + (size_t)r) * ld + d;
            for (size_t c = 0; c < d; c += 16) {
                _mm_prefetch((const char *)(q + o + c), _MM_HINT_T1);
                _mm_prefetch((const char *)(k + o + c), _MM_HINT_T1);
                _mm_prefetch((const char *)(v + o + c), _MM_HINT_T1);
            }
        }
        for (int r = 0; r < rows; r++) convert_row(q + (i0 + (size_t)r) * ld, d, dp, qb + (size_t)r * dp);
        for (size_t j0 = 0; j0 < lenp; j0 += 32) {
            const int nv = lenp - j0 >= 32 ? 2 : 1;
#define T(R) case R: if (nv == 2) score_tile(R, 2, qb, dp, kt + j0, lenp, s + j0); \
                     else score_tile(R, 1, qb, dp, kt + j0, lenp, s + j0); break;
            switch (rows) { T(1) T(2) T(3) T(4) T(5) T(6) T(7) T(8) }
#undef T
        }
        for (int r = 0; r < rows; r++) {
            float *row = s + (size_t)r * lenp;
            if (f32_softmax) sk_att_softmax_row_simd(row, len, scale);
            else sk_att_softmax_row_portable(row, len, scale);
            convert_row(row, len, lenp, pb + (size_t)r * lenp);
        }
        for (size_t c0 = 0; c0 < d; c0 += 32) {
            const __mmask16 m0 = sk_lane_mask(d - c0), m1 = d - c0 > 16 ? sk_lane_mask(d - c0 - 16) : 0;
            float *cb = ctx + i0 * ldctx + c0;
#define T(R) case R: if (m1) context_tile(R, 2, pb, lenp, vp + c0 * 2, dpad, pairs, m0, m1, cb, ldctx); \
                     else context_tile(R, 1, pb, lenp, vp + c0 * 2, dpad, pairs, m0, m1, cb, ldctx); break;
            switch (rows) { T(1) T(2) T(3) T(4) T(5) T(6) T(7) T(8) }
#undef T
        }
    }
}
#endif  // __x86_64__
