// int8 linear layers: weight packing, per-row activation quantization, the portable C GEMM and the
// dispatch to the AVX-512 VNNI kernel (int8_avx512.c). Both paths compute the same bits.
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "sk_internal.h"
#include <float.h>
#include <math.h>
#include <string.h>

size_t sk_int8_padded_k(size_t k) { return sk_round_up(k ? k : 1, 4); }
size_t sk_padded_n(size_t n) { return sk_round_up(n ? n : 1, SK_NR); }
size_t sk_int8_packed_bytes(size_t n, size_t k) { return sk_padded_n(n) * sk_int8_padded_k(k); }
size_t sk_int8_scratch_bytes(size_t m, size_t k) {
    size_t rows = m < SK_MC ? m : SK_MC;            // one block of rows at a time
    return rows * sk_int8_padded_k(k) + 4 * rows + 64;
}

static inline int32_t quantize_one(float v, float inv) {
    float r = nearbyintf(v * inv);          // round half to even (default rounding mode), as vcvtps2dq
    if (!(r > -127.0f)) r = -127.0f;        // also maps NaN to -127 (the SIMD path's INT_MIN clamps there)
    if (r > 127.0f) r = 127.0f;
    return (int32_t)r;
}

/// Symmetric int8 scale of a row of k values: returns max|x| / 127 and sets *inv to 127 / max|x|
/// (0 for an all-zero row). Weights and activations are scaled by this one rule. NaN values are
/// skipped (the SIMD path's max keeps its running max for a NaN too), and 127 / max|x| is capped at
/// FLT_MAX, so that a row of tiny values does not scale by infinity (where the two paths' float to
/// int conversions would differ).
static inline float row_scale(const float *row, size_t k, float *inv) {
    float amax = 0;
    for (size_t p = 0; p < k; p++) { float a = fabsf(row[p]); if (a > amax) amax = a; }
    *inv = amax > 0 ? fminf(127.0f / amax, FLT_MAX) : 0.0f;
    return amax / 127.0f;
}

void sk_int8_pack_weights(const float *w, size_t n, size_t k, int8_t *packed, float *scales,
                          int32_t *colsum, int8_t *quantized) {
    size_t kp = sk_int8_padded_k(k), np = sk_padded_n(n);
    memset(packed, 0, np * kp);
    for (size_t j = 0; j < n; j++) {
        const float *row = w + j * k;
        float inv;
        scales[j] = row_scale(row, k, &inv);
        int8_t *panel = packed + (j / SK_PANEL) * kp * SK_PANEL;
        size_t lane = j % SK_PANEL;
        int32_t sum = 0;
        for (size_t p = 0; p < k; p++) {
            int32_t q = quantize_one(row[p], inv);
            sum += q;
            panel[(p / 4) * SK_PANEL * 4 + lane * 4 + p % 4] = (int8_t)q;
            if (quantized) quantized[j * k + p] = (int8_t)q;
        }
        colsum[j] = sum;
    }
}

static void quantize_rows_portable(const float *x, size_t m, size_t k, size_t ldx, uint8_t *xq, float *sx) {
    size_t kp = sk_int8_padded_k(k);
    for (size_t i = 0; i < m; i++) {
        const float *row = x + i * ldx;
        float inv;
        sx[i] = row_scale(row, k, &inv);
        for (size_t p = 0; p < k; p++) xq[i * kp + p] = (uint8_t)(quantize_one(row[p], inv) + 128);
        for (size_t p = k; p < kp; p++) xq[i * kp + p] = 128;
    }
}

void sk_int8_quantize_rows(const float *x, size_t m, size_t k, size_t ldx, uint8_t *xq, float *sx) {
    if (sk_int8_simd_active()) sk_int8_quantize_rows_simd(x, m, k, ldx, xq, sx);
    else quantize_rows_portable(x, m, k, ldx, xq, sx);
}

/// acc = sum_k xq * q - 128 * colsum; then either the raw int32 (acc != NULL) or
/// y = (float)acc * (sx * scale) + bias, then the epilogue (GELU).
static void gemm_portable(const uint8_t *xq, const float *sx, size_t m, size_t kp, const int8_t *packed,
                          const int32_t *colsum, const float *scales, const float *bias, size_t n,
                          float *y, size_t ldy, int32_t *acc, size_t ldacc, int epilogue) {
    for (size_t i = 0; i < m; i++) {
        const uint8_t *a = xq + i * kp;
        for (size_t j = 0; j < n; j++) {
            const int8_t *panel = packed + (j / SK_PANEL) * kp * SK_PANEL + (j % SK_PANEL) * 4;
            int32_t s = 0;
            for (size_t g = 0; g < kp / 4; g++) {
                const int8_t *b = panel + g * SK_PANEL * 4;
                s += (int32_t)a[4 * g] * b[0] + (int32_t)a[4 * g + 1] * b[1]
                   + (int32_t)a[4 * g + 2] * b[2] + (int32_t)a[4 * g + 3] * b[3];
            }
            s -= colsum[j] * 128;
            if (acc) { acc[i * ldacc + j] = s; continue; }
            float v = (float)s * (sx[i] * scales[j]);
            if (bias) v = v + bias[j];
            if (epilogue == SK_EPILOGUE_GELU) v = sk_gelu1(v);
            y[i * ldy + j] = v;
        }
    }
}

void sk_int8_gemm_s32(const uint8_t *xq, size_t m, size_t k, const int8_t *packed, const int32_t *colsum,
                      size_t n, int32_t *acc, size_t ldacc) {
    size_t kp = sk_int8_padded_k(k);
    if (sk_int8_simd_active()) sk_int8_gemm_simd(xq, NULL, m, kp, packed, colsum, NULL, NULL, n, NULL, 0, acc, ldacc, 0);
    else gemm_portable(xq, NULL, m, kp, packed, colsum, NULL, NULL, n, NULL, 0, acc, ldacc, 0);
}

int sk_int8_linear(const float *x, size_t m, size_t k, size_t ldx, const int8_t *packed, const float *scales,
                   const int32_t *colsum, const float *bias, size_t n, float *y, size_t ldy, int epilogue) {
    if (m == 0 || n == 0) return 0;
    size_t kp = sk_int8_padded_k(k);
    sk_scratch s = sk_scratch_acquire(sk_int8_scratch_bytes(m, k));
    if (!s.p) return -1;
    const size_t rows = m < SK_MC ? m : SK_MC;
    uint8_t *xq = (uint8_t *)s.p;                                                // [rows, Kp]
    float *sx = (float *)(((uintptr_t)(xq + rows * kp) + 63) & ~(uintptr_t)63);  // [rows]
    const int simd = sk_int8_simd_active();
    // One block of rows at a time: quantize it, then run it against every panel while it is in cache.
    for (size_t i0 = 0; i0 < m; i0 += SK_MC) {
        size_t mc = m - i0 < SK_MC ? m - i0 : SK_MC;
        if (simd) {
            sk_int8_quantize_rows_simd(x + i0 * ldx, mc, k, ldx, xq, sx);
            sk_int8_gemm_simd(xq, sx, mc, kp, packed, colsum, scales, bias, n, y + i0 * ldy, ldy, NULL, 0, epilogue);
        } else {
            quantize_rows_portable(x + i0 * ldx, mc, k, ldx, xq, sx);
            gemm_portable(xq, sx, mc, kp, packed, colsum, scales, bias, n, y + i0 * ldy, ldy, NULL, 0, epilogue);
        }
    }
    sk_scratch_release(&s);
    return 0;
}
