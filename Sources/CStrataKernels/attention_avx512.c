// The AVX-512F fused attention of one (sequence, head) (definition in strata_attention.h): K^T packed once
// per head, then for each block of SK_ATT_BR query rows
//   scores  s [BR, len]  = q_blk [BR, d] K^T [d, len]   tiles of R rows x 32 keys: one vfmadd231ps per row,
//                                                        key vector and t (the fmaf chain of attention.c)
//   softmax s -> p [BR, len], in place (strata_attention.h's softmax: fastExp as sk_softmax_rows_f32, the 16 lane sums reduced as a tree; probs / dropout outputs)
//   context ctx_blk [BR, d] = u [BR, len] V [len, d]     tiles of R rows x 32 channels, one fma per row,
//                                                        channel vector and key j
// Only these functions carry the target attribute; they run only after cpu.c found AVX-512F and FMA.
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "strata_attention.h"
#include "sk_internal.h"
#include "sk_attention_internal.h"
#include "sk_exp_avx512.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,fma")))
#define BR SK_ATT_BR


/// s[r][0..<16 NV] = fma chain over t of q[r][t] * kt[t][0..<16 NV], for r < R (NV = 1 or 2 key vectors).
static inline __attribute__((always_inline)) TGT
void score_tile(const int R, const int NV, const float *q, size_t ld, const float *kt, size_t lenp, size_t d,
                float *s) {
    __m512 c[BR][2];
    for (int r = 0; r < R; r++) { c[r][0] = _mm512_setzero_ps(); c[r][1] = _mm512_setzero_ps(); }
    for (size_t t = 0; t < d; t++) {
        __m512 k0 = _mm512_load_ps(kt + t * lenp);
        __m512 k1 = NV > 1 ? _mm512_load_ps(kt + t * lenp + 16) : k0;
        for (int r = 0; r < R; r++) {
            __m512 a = _mm512_set1_ps(q[r * ld + t]);
            c[r][0] = _mm512_fmadd_ps(a, k0, c[r][0]);
            if (NV > 1) c[r][1] = _mm512_fmadd_ps(a, k1, c[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm512_store_ps(s + r * lenp, c[r][0]);
        if (NV > 1) _mm512_store_ps(s + r * lenp + 16, c[r][1]);
    }
}

/// ctx[r][0..<16 NV] (lanes m0, m1) = fma chain over j < len of u[r][j] * v[j][0..<16 NV], for r < R.
static inline __attribute__((always_inline)) TGT
void context_tile(const int R, const int NV, const float *u, size_t lenp, const float *v, size_t ld, size_t len,
                  __mmask16 m0, __mmask16 m1, float *ctx, size_t ldctx) {
    __m512 c[BR][2];
    for (int r = 0; r < R; r++) { c[r][0] = _mm512_setzero_ps(); c[r][1] = _mm512_setzero_ps(); }
    for (size_t j = 0; j < len; j++) {
        __m512 v0 = _mm512_maskz_loadu_ps(m0, v + j * ld);
        __m512 v1 = NV > 1 ? _mm512_maskz_loadu_ps(m1, v + j * ld + 16) : v0;
        for (int r = 0; r < R; r++) {
            __m512 a = _mm512_set1_ps(u[r * lenp + j]);
            c[r][0] = _mm512_fmadd_ps(a, v0, c[r][0]);
            if (NV > 1) c[r][1] = _mm512_fmadd_ps(a, v1, c[r][1]);
        }
    }
    for (int r = 0; r < R; r++) {
        _mm512_mask_storeu_ps(ctx + r * ldctx, m0, c[r][0]);
        if (NV > 1) _mm512_mask_storeu_ps(ctx + r * ldctx + 16, m1, c[r][1]);
    }
}

/// dst[t][l] = src[l][t] for t < cols, l < 16 (rows l >= rows read as zero); src rows at stride lds, dst
/// rows at stride ldd, 64-byte aligned. The usual 16x16 transposition: unpack, shuffle, two 128-bit lane shuffles.
static inline __attribute__((always_inline)) TGT
void transpose16(const float *src, size_t lds, int rows, size_t cols, float *dst, size_t ldd) {
    const __mmask16 cm = sk_lane_mask(cols);
    __m512 r[16], t[16];
    for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_maskz_loadu_ps(cm, src + (size_t)i * lds) : _mm512_setzero_ps();
    for (int i = 0; i < 16; i += 2) { t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]); t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]); }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], 0xEE);
        r[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_f32x4(r[i], r[i + 4], 0xDD);
        t[i + 8] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_f32x4(r[i + 8], r[i + 12], 0xDD);
    }
    for (int i = 0; i < 8; i++) {
        r[i] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_f32x4(t[i], t[i + 8], 0xDD);
    }
    for (size_t i = 0; i < cols; i++) _mm512_store_ps(dst + i * ldd, r[i]);
}

/// One row of scores (len valid of lenp) -> probabilities in place, fastExp as sk_softmax_rows_f32 with `scale`, the lane sums reduced as a tree (strata_attention.h);
/// writes p to probs_row and u = p * mask_row to the row and dropped_row when given.
static inline __attribute__((always_inline)) TGT
void softmax_row(float *row, size_t len, float scale, float *probs_row, const float *mask_row, float *dropped_row) {
    const size_t full = len / 16 * 16;
    const __mmask16 tail = sk_lane_mask(len - full);
    __m512 mxv = _mm512_set1_ps(-__builtin_inff());
    for (size_t j = 0; j < full; j += 16) mxv = _mm512_max_ps(mxv, _mm512_load_ps(row + j));
    float mx = _mm512_reduce_max_ps(mxv);
    for (size_t j = full; j < len; j++) mx = row[j] > mx ? row[j] : mx;
    const __m512 vs = _mm512_set1_ps(scale), shift = _mm512_set1_ps(mx * scale);
    __m512 sumv = _mm512_setzero_ps();
    for (size_t j = 0; j < full; j += 16) {
        __m512 e = sk_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_load_ps(row + j), vs), shift));
        _mm512_store_ps(row + j, e);
        sumv = _mm512_add_ps(sumv, e);
    }
    // the 16 lane sums as a tree: a[l] = x[l] + x[l+8], b[l] = a[l] + a[l+4], c[l] = b[l] + b[l+2], c[0] + c[1]
    __m256 a8 = _mm256_add_ps(_mm512_castps512_ps256(sumv), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sumv), 1)));
    __m128 b4 = _mm_add_ps(_mm256_castps256_ps128(a8), _mm256_extractf128_ps(a8, 1));
    __m128 c2 = _mm_add_ps(b4, _mm_movehl_ps(b4, b4));
    float lanes[16], sum = _mm_cvtss_f32(_mm_add_ss(c2, _mm_movehdup_ps(c2)));
    if (tail) {
        __m512 e = sk_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_load_ps(row + full), vs), shift));
        _mm512_store_ps(row + full, e);
        _mm512_storeu_ps(lanes, e);
        for (size_t j = 0; j < len - full; j++) sum += lanes[j];         // then the tail in order
    }
    const __m512 inv = _mm512_set1_ps(1.0f / sum);
    for (size_t j = 0; j < len; j += 16) {
        const __mmask16 m = sk_lane_mask(len - j);
        __m512 p = _mm512_mul_ps(_mm512_load_ps(row + j), inv);
        if (probs_row) _mm512_mask_storeu_ps(probs_row + j, m, p);
        if (mask_row) {
            p = _mm512_mul_ps(p, _mm512_maskz_loadu_ps(m, mask_row + j));
            _mm512_mask_storeu_ps(dropped_row + j, m, p);
        }
        _mm512_store_ps(row + j, p);
    }
}

/// transpose16 for other kernels (attention_bf16_avx512.c moves bf16 pairs through it as 32-bit lanes: the
/// loads, shuffles and stores change no bits).
TGT void sk_att_transpose16_simd(const float *src, size_t lds, int rows, size_t cols, float *dst, size_t ldd) {
    transpose16(src, lds, rows, cols, dst, ldd);
}

TGT void sk_att_softmax_row_simd(float *row, size_t len, float scale) { softmax_row(row, len, scale, NULL, NULL, NULL); }

TGT void sk_attention_head_simd(const float *q, const float *k, const float *v, size_t ld, size_t len, size_t d,
                                float scale, float *ctx, size_t ldctx, float *probs, const float *mask, float *dropped,
                                float *scratch) {
    const size_t lenp = sk_att_lenp(len);
    float *kt = scratch, *s = scratch + d * lenp;
    // kt [d][lenp] = K_h^T, zero past len (those score columns are computed and never read)
    for (size_t j0 = 0; j0 < len; j0 += 16) {
        const int rows = (int)(len - j0 < 16 ? len - j0 : 16);
        for (size_t t0 = 0; t0 < d; t0 += 16)
            transpose16(k + j0 * ld + t0, ld, rows, d - t0 < 16 ? d - t0 : 16, kt + t0 * lenp + j0, lenp);
    }
    for (size_t i0 = 0; i0 < len; i0 += BR) {
        const int rows = (int)(len - i0 < BR ? len - i0 : BR);
        const float *qb = q + i0 * ld;
        for (size_t j0 = 0; j0 < lenp; j0 += 32) {
            const int nv = lenp - j0 >= 32 ? 2 : 1;
#define T(R) case R: if (nv == 2) score_tile(R, 2, qb, ld, kt + j0, lenp, d, s + j0); \
                     else score_tile(R, 1, qb, ld, kt + j0, lenp, d, s + j0); break;
            switch (rows) { T(1) T(2) T(3) T(4) T(5) T(6) T(7) T(8) }
#undef T
        }
        for (int r = 0; r < rows; r++) {
            const size_t i = i0 + (size_t)r;
            softmax_row(s + r * lenp, len, scale, probs ? probs + i * len : NULL, mask ? mask + i * len : NULL,
                        dropped ? dropped + i * len : NULL);
        }
        for (size_t c0 = 0; c0 < d; c0 += 32) {
            const __mmask16 m0 = sk_lane_mask(d - c0), m1 = d - c0 > 16 ? sk_lane_mask(d - c0 - 16) : 0;
            float *cb = ctx + i0 * ldctx + c0;
#define T(R) case R: if (m1) context_tile(R, 2, s, lenp, v + c0, ld, len, m0, m1, cb, ldctx); \
                     else context_tile(R, 1, s, lenp, v + c0, ld, len, m0, m1, cb, ldctx); break;
            switch (rows) { T(1) T(2) T(3) T(4) T(5) T(6) T(7) T(8) }
#undef T
        }
    }
}
#endif  // __x86_64__
