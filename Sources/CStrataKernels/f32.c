// fp32 linear layers with weights packed once: packing, the portable C GEMM (fmaf, the same chain of
// fused multiply-adds as the AVX-512 kernel, so the same bits) and the dispatch to f32_avx512.c.
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "sk_internal.h"
#include <math.h>
#include <string.h>

size_t sk_f32_packed_bytes(size_t n, size_t k) { return sk_padded_n(n) * (k ? k : 1) * 4; }

void sk_f32_pack_weights(const float *w, size_t n, size_t k, float *packed) {
    size_t np = sk_padded_n(n);
    memset(packed, 0, np * (k ? k : 1) * 4);
    for (size_t j = 0; j < n; j++) {
        float *panel = packed + (j / SK_PANEL) * k * SK_PANEL;
        size_t lane = j % SK_PANEL;
        for (size_t p = 0; p < k; p++) panel[p * SK_PANEL + lane] = w[j * k + p];
    }
}

// y[i, j] = fma chain over p = 0..<k of x[i, p] * w[j, p] starting at +0, then + bias[j], then the epilogue.
static void gemm_portable(const float *x, size_t m, size_t k, size_t ldx, const float *packed, const float *bias,
                          size_t n, float *y, size_t ldy, int epilogue) {
    for (size_t i = 0; i < m; i++) {
        const float *a = x + i * ldx;
        for (size_t j = 0; j < n; j++) {
            const float *b = packed + (j / SK_PANEL) * k * SK_PANEL + (j % SK_PANEL);
            float acc = 0.0f;
            for (size_t p = 0; p < k; p++) acc = fmaf(a[p], b[p * SK_PANEL], acc);
            float v = bias ? acc + bias[j] : acc;
            y[i * ldy + j] = epilogue == SK_EPILOGUE_GELU ? sk_gelu1(v) : v;
        }
    }
}

void sk_f32_linear(const float *x, size_t m, size_t k, size_t ldx, const float *packed, const float *bias,
                   size_t n, float *y, size_t ldy, int epilogue) {
    if (m == 0 || n == 0) return;
    if (sk_f32_simd_active()) sk_f32_gemm_simd(x, m, k, ldx, packed, bias, n, y, ldy, epilogue);
    else gemm_portable(x, m, k, ldx, packed, bias, n, y, ldy, epilogue);
}
