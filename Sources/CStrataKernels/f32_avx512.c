// The AVX-512F fp32 GEMM on packed weights: micro-tiles of SK_F32_MR rows x 32 output channels
// (two panels of 16), one vfmadd231ps per row, panel and k (the fmaf chain of f32.c, lane by lane).
// Only these functions carry the target attribute; they run only after cpu.c found AVX-512F.
#pragma clang fp contract(off)
#include "strata_kernels.h"
#include "sk_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,fma")))
#define F32_MR 12   // rows per micro-tile: 24 accumulators + 2 weight vectors + 1 broadcast of 32 zmm
#define F32_MC 48   // rows per cache block


/// One micro-tile: rows [0, MR) of `a` (stride lda) x 32 output channels (panels b0, b1; [k][16] each).
static inline __attribute__((always_inline)) TGT
void tile(const int MR, const float *a, size_t lda, size_t k, const float *b0, const float *b1,
          __m512 bias0, __m512 bias1, int has_bias, int gelu, float *y, size_t ldy, __mmask16 m0, __mmask16 m1) {
    __m512 c[F32_MR][2];
    for (int r = 0; r < MR; r++) { c[r][0] = _mm512_setzero_ps(); c[r][1] = _mm512_setzero_ps(); }
    for (size_t p = 0; p < k; p++) {
        __m512 w0 = _mm512_load_ps(b0 + p * 16), w1 = _mm512_load_ps(b1 + p * 16);
        for (int r = 0; r < MR; r++) {
            __m512 av = _mm512_set1_ps(a[r * lda + p]);
            c[r][0] = _mm512_fmadd_ps(av, w0, c[r][0]);
            c[r][1] = _mm512_fmadd_ps(av, w1, c[r][1]);
        }
    }
    for (int r = 0; r < MR; r++) {
        __m512 v0 = c[r][0], v1 = c[r][1];
        sk_store_row32(y + r * ldy, v0, v1, bias0, bias1, has_bias, gelu, m0, m1);
    }
}

TGT void sk_f32_gemm_simd(const float *x, size_t m, size_t k, size_t ldx, const float *packed, const float *bias,
                          size_t n, float *y, size_t ldy, int epilogue) {
    const int gelu = epilogue == SK_EPILOGUE_GELU;
    const size_t panel_elems = k * SK_PANEL;
    for (size_t i0 = 0; i0 < m; i0 += F32_MC) {
        size_t mc = m - i0 < F32_MC ? m - i0 : F32_MC;
        for (size_t n0 = 0; n0 < n; n0 += SK_NR) {
            __mmask16 m0 = sk_lane_mask(n - n0), m1 = n - n0 > 16 ? sk_lane_mask(n - n0 - 16) : 0;
            const float *b0 = packed + (n0 / SK_PANEL) * panel_elems, *b1 = b0 + panel_elems;
            __m512 bs0 = _mm512_setzero_ps(), bs1 = _mm512_setzero_ps();
            if (bias) { bs0 = _mm512_maskz_loadu_ps(m0, bias + n0); bs1 = _mm512_maskz_loadu_ps(m1, bias + n0 + 16); }
            for (size_t i = i0; i < i0 + mc; i += F32_MR) {
                size_t mr = i0 + mc - i < F32_MR ? i0 + mc - i : F32_MR;
                const float *a = x + i * ldx;
                float *yo = y + i * ldy + n0;
#define T(R) case R: tile(R, a, ldx, k, b0, b1, bs0, bs1, bias != NULL, gelu, yo, ldy, m0, m1); break;
                switch (mr) { T(1) T(2) T(3) T(4) T(5) T(6) T(7) T(8) T(9) T(10) T(11) T(12) }
#undef T
            }
        }
    }
}
#endif  // __x86_64__
