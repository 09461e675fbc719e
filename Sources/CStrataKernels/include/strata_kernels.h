// Reduced-precision GEMM kernels for Strata: int8 (AVX-512 VNNI vpdpbusd) and bf16 (AVX-512 BF16
// vdpbf16ps), with packed weights, runtime CPU detection and a plain C fallback that computes the
// SAME results bit for bit (same operations, same order). Imported only by the Swift module Kernels.
//
// Conventions (row-major):
//   X [M, K] fp32 activations, W [N, K] weights (Hugging Face Linear layout, y = x W^T + b),
//   Y [M, N] fp32 output, bias [N] (may be NULL).
#ifndef STRATA_KERNELS_H
#define STRATA_KERNELS_H
#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Output channels per packed panel (one 512-bit register of int32 / fp32 lanes).
#define SK_PANEL 16
/// Output columns per micro-tile (two panels); packed N is padded to a multiple of this.
#define SK_NR 32

/// What the linear kernels apply to each output after the bias, while the tile is in registers.
#define SK_EPILOGUE_NONE 0
/// y <- 0.5 y (1 + erf(y / sqrt 2)) with Kernels' fastErf: the same operations as sk_gelu_f32 and
/// Kernels' geluInPlace, so the same bits as the linear layer followed by that pass.
#define SK_EPILOGUE_GELU 1

/// 1 when this CPU (and OS) runs the AVX-512 VNNI int8 kernel; 0 otherwise.
int sk_cpu_has_int8_simd(void);
/// 1 when this CPU (and OS) runs the AVX-512 BF16 kernel; 0 otherwise.
int sk_cpu_has_bf16_simd(void);
/// 1 when the SIMD kernels are in use: the CPU has them and STRATA_FORCE_PORTABLE is not set to a
/// non-empty value other than "0" (read once per process, at the first call), nor forced by
/// sk_set_force_portable.
int sk_int8_simd_active(void);
int sk_bf16_simd_active(void);
/// Forces (1) or releases (0) the portable C path for this process; -1 returns to the environment's
/// choice. For tests comparing the two paths in one process.
void sk_set_force_portable(int force);

// MARK: int8

/// K rounded up to the int8 packing granularity (4 bytes per vpdpbusd lane).
size_t sk_int8_padded_k(size_t k);
/// N rounded up to SK_NR.
size_t sk_padded_n(size_t n);
/// Bytes of a packed int8 weight matrix for [N, K].
size_t sk_int8_packed_bytes(size_t n, size_t k);

/// Quantizes W [N, K] fp32 symmetrically per output channel and packs it.
///   scales[N]  <- max_k |W[n, k]| / 127  (0 for an all-zero row)
///   q[n, k]    =  clamp(round_half_even(W[n, k] * (127 / max|W[n, :]|)), -127, 127)
///   colsum[N]  <- sum_k q[n, k]   (for the u8 +128 activation offset)
///   packed     <- panels of 16 channels: [N/16][K/4][16][4] int8, zero padded
/// `quantized` [N, K] (may be NULL) receives q unpacked, for tests.
void sk_int8_pack_weights(const float *w, size_t n, size_t k, int8_t *packed, float *scales,
                          int32_t *colsum, int8_t *quantized);

/// Quantizes X [M, K] per row, dynamically and symmetrically, to u8 with a +128 offset:
///   sx[m] <- max_k |X[m, k]| / 127,  q = clamp(round_half_even(X * (127 / max|X[m, :]|)), -127, 127),
///   xq[m, kp] <- q + 128 (K padded to Kp with 128, i.e. q = 0).   xq is [M, Kp] uint8.
void sk_int8_quantize_rows(const float *x, size_t m, size_t k, size_t ldx, uint8_t *xq, float *sx);

/// Raw int32 GEMM on quantized operands, for tests of exactness:
///   acc[M, N] = sum_k (xq[m, k] - 128) * q[n, k]   computed as  sum_k xq*q - 128 * colsum[n].
void sk_int8_gemm_s32(const uint8_t *xq, size_t m, size_t k, const int8_t *packed, const int32_t *colsum,
                      size_t n, int32_t *acc, size_t ldacc);

/// Fused int8 linear layer on fp32 activations:
///   Y[m, n] = epilogue((float)(acc[m, n]) * (sx[m] * scales[n]) + bias[n])
/// quantizing X per row on the fly, one block of 64 rows at a time, into this thread's scratch buffer
/// (kept for the thread's later calls; see memory.c). Returns 0, or -1 when scratch memory ran out
/// (then Y is untouched).
int sk_int8_linear(const float *x, size_t m, size_t k, size_t ldx, const int8_t *packed, const float *scales,
                   const int32_t *colsum, const float *bias, size_t n, float *y, size_t ldy, int epilogue);
/// Scratch bytes one sk_int8_linear call uses: min(M, 64) rows of Kp bytes and their scales.
size_t sk_int8_scratch_bytes(size_t m, size_t k);

// MARK: bf16

/// K rounded up to the bf16 packing granularity (a pair per vdpbf16ps lane).
size_t sk_bf16_padded_k(size_t k);
/// Bytes of a packed bf16 weight matrix for [N, K].
size_t sk_bf16_packed_bytes(size_t n, size_t k);
/// fp32 -> bf16 as the hardware converts (vcvtneps2bf16): round to nearest even, denormals to
/// signed zero, NaN to a quiet NaN.
uint16_t sk_bf16_from_float(float f);
/// Converts and packs W [N, K]: panels of 16 channels, [N/16][K/2][16][2] bf16, zero padded.
void sk_bf16_pack_weights(const float *w, size_t n, size_t k, uint16_t *packed);
/// Converts X [M, K] to bf16 rows [M, Kp] (zero padded).
void sk_bf16_convert_rows(const float *x, size_t m, size_t k, size_t ldx, uint16_t *xb);
/// bf16 linear layer on fp32 activations (converted per call, one block of 64 rows at a time, into
/// this thread's scratch buffer):
///   acc = 0; for each pair p: acc += a[2p+1]*w[2p+1], acc += a[2p]*w[2p], each a fused multiply-add
///   (product unrounded, sum rounded); Y[m, n] = epilogue(acc + bias[n]). Denormal inputs and sums
///   flush to zero, as vdpbf16ps does (sk_dpbf16_step).
/// Returns 0, or -1 when scratch memory ran out (then Y is untouched).
int sk_bf16_linear(const float *x, size_t m, size_t k, size_t ldx, const uint16_t *packed,
                   const float *bias, size_t n, float *y, size_t ldy, int epilogue);
/// Scratch bytes one sk_bf16_linear call uses: min(M, 64) rows of Kp bf16 values.
size_t sk_bf16_scratch_bytes(size_t m, size_t k);

// MARK: fp32 (weights packed once; AVX-512F FMA, portable fmaf twin with the same bits)

/// 1 when this CPU (and OS) runs the AVX-512F fp32 kernel; 0 otherwise.
int sk_cpu_has_f32_simd(void);
/// 1 when the AVX-512F fp32 kernel is in use (the CPU has it and the portable path is not forced).
int sk_f32_simd_active(void);
/// Bytes of a packed fp32 weight matrix for [N, K]: panels of 16 channels, [Np/16][K][16], Np = sk_padded_n(N).
size_t sk_f32_packed_bytes(size_t n, size_t k);
/// Packs W [N, K] into [Np/16][K][16] fp32 panels, zero padded. `packed` must be 64-byte aligned.
void sk_f32_pack_weights(const float *w, size_t n, size_t k, float *packed);
/// fp32 linear layer on packed weights, Y [M, N] (stride ldy) from X [M, K] (stride ldx):
///   acc = +0; for p in 0..<K: acc = fmaf(X[m, p], W[n, p], acc);  Y[m, n] = epilogue(acc + bias[n])
/// (bias may be NULL). Each output element is computed alone, so results do not depend on M, on how
/// rows or columns are split between calls, nor on the path (SIMD or portable).
void sk_f32_linear(const float *x, size_t m, size_t k, size_t ldx, const float *packed, const float *bias,
                   size_t n, float *y, size_t ldy, int epilogue);

/// A block of memory, 64-byte aligned (NULL when out of memory); large blocks are mapped directly so
/// that freeing them returns the memory to the system. Free with the same size.
void *sk_scratch_alloc(size_t bytes);
void sk_scratch_free(void *p, size_t bytes);
/// Hands freed heap memory back to the system (glibc malloc_trim; a no-op elsewhere).
void sk_release_free_memory(void);

// MARK: fp32 activations (AVX-512F ports of Kernels' Swift GELU and softmax, the same bits)

/// 1 when the AVX-512 activation kernels may be used (the CPU has AVX-512 and the portable path is
/// not forced; the Swift code is the portable path).
int sk_activations_simd_active(void);
/// x[n] <- 0.5 x (1 + erf(x / sqrt 2)), erf by Kernels' fastErf polynomial.
void sk_gelu_f32(float *x, size_t n);
/// Row softmax in place: x[r, 0..<cols] <- softmax(scale * x[r, 0..<cols]) for r < rows, row stride ld;
/// the row sum is taken lane by lane over 16 partial sums, then the tail in order (Swift's order).
void sk_softmax_rows_f32(float *x, size_t rows, size_t cols, size_t ld, float scale);

#ifdef __cplusplus
}
#endif
#endif
#include "strata_attention.h"
