// bf16 linear layers: conversion (as vcvtneps2bf16 rounds), weight packing, the portable C GEMM that
// emulates vdpbf16ps step by step, and the dispatch to the AVX-512 BF16 kernel (bf16_avx512.c).
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "sk_internal.h"
#include <float.h>
#include <math.h>
#include <string.h>

size_t sk_bf16_padded_k(size_t k) { return sk_round_up(k ? k : 1, 2); }
size_t sk_bf16_packed_bytes(size_t n, size_t k) { return sk_padded_n(n) * sk_bf16_padded_k(k) * 2; }
size_t sk_bf16_scratch_bytes(size_t m, size_t k) { return (m < SK_MC ? m : SK_MC) * sk_bf16_padded_k(k) * 2 + 64; }

uint16_t sk_bf16_from_float(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t exp = (u >> 23) & 0xFF, man = u & 0x7FFFFF;
    if (exp == 0) return (uint16_t)((u >> 16) & 0x8000);              // zero or denormal: signed zero
    if (exp == 0xFF) return (uint16_t)((u >> 16) | (man ? 0x40 : 0)); // infinity; NaN made quiet
    u += 0x7FFF + ((u >> 16) & 1);                                     // round to nearest even
    return (uint16_t)(u >> 16);
}

void sk_bf16_pack_weights(const float *w, size_t n, size_t k, uint16_t *packed) {
    size_t kp = sk_bf16_padded_k(k), np = sk_padded_n(n);
    memset(packed, 0, np * kp * 2);
    for (size_t j = 0; j < n; j++) {
        uint16_t *panel = packed + (j / SK_PANEL) * kp * SK_PANEL;
        size_t lane = j % SK_PANEL;
        for (size_t p = 0; p < k; p++) panel[(p / 2) * SK_PANEL * 2 + lane * 2 + p % 2] = sk_bf16_from_float(w[j * k + p]);
    }
}

static void convert_rows_portable(const float *x, size_t m, size_t k, size_t ldx, uint16_t *xb) {
    size_t kp = sk_bf16_padded_k(k);
    for (size_t i = 0; i < m; i++) {
        for (size_t p = 0; p < k; p++) xb[i * kp + p] = sk_bf16_from_float(x[i * ldx + p]);
        for (size_t p = k; p < kp; p++) xb[i * kp + p] = 0;
    }
}

void sk_bf16_convert_rows(const float *x, size_t m, size_t k, size_t ldx, uint16_t *xb) {
    if (sk_bf16_simd_active()) sk_bf16_convert_rows_simd(x, m, k, ldx, xb);
    else convert_rows_portable(x, m, k, ldx, xb);
}

static void gemm_portable(const uint16_t *xb, size_t m, size_t kp, const uint16_t *packed, const float *bias,
                          size_t n, float *y, size_t ldy, int epilogue) {
    for (size_t i = 0; i < m; i++) {
        const uint16_t *a = xb + i * kp;
        for (size_t j = 0; j < n; j++) {
            const uint16_t *panel = packed + (j / SK_PANEL) * kp * SK_PANEL + (j % SK_PANEL) * 2;
            float acc = 0.0f;
            for (size_t g = 0; g < kp / 2; g++) {
                const uint16_t *b = panel + g * SK_PANEL * 2;
                acc = sk_dpbf16_step(acc, a[2 * g], a[2 * g + 1], b[0], b[1]);   // one vdpbf16ps lane step
            }
            float v = bias ? acc + bias[j] : acc;
            y[i * ldy + j] = epilogue == SK_EPILOGUE_GELU ? sk_gelu1(v) : v;
        }
    }
}

int sk_bf16_linear(const float *x, size_t m, size_t k, size_t ldx, const uint16_t *packed,
                   const float *bias, size_t n, float *y, size_t ldy, int epilogue) {
    if (m == 0 || n == 0) return 0;
    size_t kp = sk_bf16_padded_k(k);
    sk_scratch s = sk_scratch_acquire(sk_bf16_scratch_bytes(m, k));
    if (!s.p) return -1;
    uint16_t *xb = (uint16_t *)s.p;                  // [min(M, SK_MC), Kp]
    const int simd = sk_bf16_simd_active();
    // One block of rows at a time: convert it, then run it against every panel while it is in cache.
    for (size_t i0 = 0; i0 < m; i0 += SK_MC) {
        size_t mc = m - i0 < SK_MC ? m - i0 : SK_MC;
        if (simd) {
            sk_bf16_convert_rows_simd(x + i0 * ldx, mc, k, ldx, xb);
            sk_bf16_gemm_simd(xb, mc, kp, packed, bias, n, y + i0 * ldy, ldy, epilogue);
        } else {
            convert_rows_portable(x + i0 * ldx, mc, k, ldx, xb);
            gemm_portable(xb, mc, kp, packed, bias, n, y + i0 * ldy, ldy, epilogue);
        }
    }
    sk_scratch_release(&s);
    return 0;
}
