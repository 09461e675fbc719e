// Linear layer in Hugging Face layout: weight [OUT, IN], bias [OUT].
// Backward here; the forward (`linearForward`, OpenBLAS sgemm: what training's borrowed fp32 views run,
// and inference with STRATA_FP32_GEMM=sgemm; inference's default fp32 GEMM is the packed kernel) and its
// naive twin are in Kernels/Linear.swift.

import Kernels

/// Backward of `linearForward`. ACCUMULATES:
/// dx[N, IN] += dout[N, OUT] * W[OUT, IN]; dW[OUT, IN] += dout^T * x; db[OUT] += sum_n dout.
/// `dx` may be nil when the input needs no gradient.
public func linearBackward(dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                           dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                           x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           n: Int, inFeatures: Int, outFeatures: Int) {
    if let dx {
        sgemm(transA: false, transB: false, m: n, n: inFeatures, k: outFeatures, alpha: 1,
                  a: dout, lda: outFeatures, b: weight, ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
    }
    sgemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: n, alpha: 1,
              a: dout, lda: outFeatures, b: x, ldb: inFeatures, beta: 1, c: dweight, ldc: inFeatures)
    if let dbias {
        for r in 0..<n {
            let d = dout + r * outFeatures
            for j in 0..<outFeatures { dbias[j] += d[j] }
        }
    }
}

/// Naive twin of `linearBackward` (plain loops, accumulating like it).
public func naiveLinearBackward(dx: UnsafeMutablePointer<Float>?, dweight: UnsafeMutablePointer<Float>,
                                dbias: UnsafeMutablePointer<Float>?, dout: UnsafePointer<Float>,
                                x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                n: Int, inFeatures: Int, outFeatures: Int) {
    for r in 0..<n {
        for o in 0..<outFeatures {
            let d = dout[r * outFeatures + o]
            dbias?[o] += d
            for i in 0..<inFeatures {
                dx?[r * inFeatures + i] += weight[o * inFeatures + i] * d
                dweight[o * inFeatures + i] += x[r * inFeatures + i] * d
            }
        }
    }
}
