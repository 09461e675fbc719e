// Matrix multiply used by every training kernel, row-major, BLAS semantics:
//   C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C[m, n]
// op(A) = A (A stored [m, k], lda >= k) or A^T (A stored [k, m], lda >= m); same for B.

import Kernels

/// Row-major GEMM dispatch for the training kernels (BLAS sgemm semantics, see file header).
///
/// Goes to OpenBLAS through `Kernels.sgemm`; its slow twin is `Kernels.sgemmReference` (same contract).
@inline(__always)
public func trainGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
          a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
}
