// Kernels' fastExp (Sources/Kernels/FastMath.swift) on 16 AVX-512 lanes: the same operations in the same
// order, no fused multiply-adds, so the same bits as the Swift code and as attention.c's scalar twin.
// Shared by the AVX-512 softmax (activations_avx512.c) and the fused attention (attention_avx512.c);
// include only in files compiled with `#pragma clang fp contract(off)`.
#ifndef SK_EXP_AVX512_H
#define SK_EXP_AVX512_H
#if defined(__x86_64__)
#include <immintrin.h>

/// FastMath.swift fastExp: x = n ln2 + r, degree-6 polynomial for e^r, 2^n in the exponent bits.
static inline __attribute__((always_inline, target("avx512f"))) __m512 sk_exp16(__m512 x) {
    __m512 v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ), x, _mm512_set1_ps(-87.3f));
    v = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, _mm512_set1_ps(88.3f), _CMP_GT_OQ), v, _mm512_set1_ps(88.3f));
    const __m512 shifter = _mm512_set1_ps(12582912.0f);
    __m512 t = _mm512_add_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.44269504088896341f)), shifter);
    __m512 n = _mm512_sub_ps(t, shifter);
    __m512 r = _mm512_sub_ps(v, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(-2.12194440e-4f)));
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(p, _mm512_mul_ps(r, r)), r), _mm512_set1_ps(1.0f));
    __m512i k = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(0x4B400000));
    return _mm512_mul_ps(p, _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(k, _mm512_set1_epi32(127)), 23)));
}
#endif  // __x86_64__
#endif
