// Matrix multiply used by every training kernel, row-major, BLAS semantics:
//   C[m, n] = alpha * op(A)[m, k] * op(B)[k, n] + beta * C[m, n]
// op(A) = A (A stored [m, k], lda >= k) or A^T (A stored [k, m], lda >= m); same for B.

import Kernels

/// Row-major GEMM dispatch for the training kernels (BLAS sgemm semantics, see file header).
///
/// Goes to OpenBLAS through `Kernels.sgemm`; `naiveGemm` is the slow twin used in tests.
@inline(__always)
public func trainGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
          a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
}

/// Obviously-correct triple loop with the same contract as `trainGemm` (the slow twin).
public func naiveGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    for i in 0..<m {
        let crow = c + i * ldc
        if beta == 0 {
            for j in 0..<n { crow[j] = 0 }
        } else if beta != 1 {
            for j in 0..<n { crow[j] *= beta }
        }
        for p in 0..<k {
            let aip = alpha * (transA ? a[p * lda + i] : a[i * lda + p])
            if aip == 0 { continue }
            if transB {
                for j in 0..<n { crow[j] += aip * b[j * ldb + p] }
            } else {
                let brow = b + p * ldb
                for j in 0..<n { crow[j] += aip * brow[j] }
            }
        }
    }
}
