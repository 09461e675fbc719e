// AVX-512 versions of Kernels' GELU and softmax rows (Sources/Kernels/Activations.swift and
// FastMath.swift): the same polynomials with the same operations in the same order and no fused
// multiply-adds, so they give the same bits as the Swift code, which Swift compiles for baseline x86-64
// (SSE: four instructions per 16-lane operation). Kernels calls these when sk_activations_simd_active().
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "sk_internal.h"
#include "sk_exp_avx512.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f")))

int sk_activations_simd_active(void) { return sk_int8_simd_active() || sk_bf16_simd_active(); }


TGT void sk_gelu_f32(float *x, size_t n) {
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = sk_lane_mask(n - i);
        __m512 v = _mm512_maskz_loadu_ps(m, x + i);
        _mm512_mask_storeu_ps(x + i, m, sk_gelu16(v));           // sk_internal.h, shared with the GEMM epilogues
    }
}

TGT void sk_softmax_rows_f32(float *x, size_t rows, size_t cols, size_t ld, float scale) {
    const size_t full = cols / 16 * 16;
    const __mmask16 tail = sk_lane_mask(cols - full);
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * ld;
        float mx = -__builtin_inff();
        __m512 mxv = _mm512_set1_ps(-__builtin_inff());
        for (size_t j = 0; j < full; j += 16) mxv = _mm512_max_ps(mxv, _mm512_loadu_ps(row + j));
        mx = _mm512_reduce_max_ps(mxv);
        for (size_t j = full; j < cols; j++) mx = row[j] > mx ? row[j] : mx;
        const __m512 vs = _mm512_set1_ps(scale), shift = _mm512_set1_ps(mx * scale);
        __m512 sumv = _mm512_setzero_ps();
        for (size_t j = 0; j < full; j += 16) {
            __m512 e = sk_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(row + j), vs), shift));
            _mm512_storeu_ps(row + j, e);
            sumv = _mm512_add_ps(sumv, e);
        }
        float lanes[16], sum = 0;
        _mm512_storeu_ps(lanes, sumv);
        for (int i = 0; i < 16; i++) sum += lanes[i];                    // lane order, as laneSum in Swift
        if (tail) {
            __m512 e = sk_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row + full), vs), shift));
            _mm512_mask_storeu_ps(row + full, tail, e);
            _mm512_storeu_ps(lanes, e);
            for (size_t j = 0; j < cols - full; j++) sum += lanes[j];
        }
        const __m512 inv = _mm512_set1_ps(1.0f / sum);
        for (size_t j = 0; j < full; j += 16) _mm512_storeu_ps(row + j, _mm512_mul_ps(_mm512_loadu_ps(row + j), inv));
        if (tail) _mm512_mask_storeu_ps(row + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row + full), inv));
    }
}
#endif  // __x86_64__
