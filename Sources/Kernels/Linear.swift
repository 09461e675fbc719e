// Linear layer in Hugging Face layout: weight [OUT, IN], bias [OUT]; x [N, IN] -> out [N, OUT] = x W^T + b.
// The OpenBLAS fp32 dense forward: training (the encoder layer's borrowed weights, the heads) and
// `PackedLinear`'s fp32 layers when `FP32Gemm` is `.sgemm` run it; inference's default fp32 GEMM is
// the packed kernel (`sk_f32_linear`). Naive twin beside it for tests.

/// out[N, OUT] = x[N, IN] * W[OUT, IN]^T + b[OUT] (bias optional): OpenBLAS sgemm (its own threads),
/// then the bias added row by row over `workers` threads.
public func linearForward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                          weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                          n: Int, inFeatures: Int, outFeatures: Int, workers: Int = 1) {
    if n == 0 { return }
    sgemm(transA: false, transB: true, m: n, n: outFeatures, k: inFeatures, alpha: 1,
          a: x, lda: inFeatures, b: weight, ldb: inFeatures, beta: 0, c: out, ldc: outFeatures)
    guard let bias else { return }
    parallelRanges(n, minPerWorker: 64, workers: workers) { r in
        addBiasRows(out + r.lowerBound * outFeatures, rows: r.count, cols: outFeatures, bias: bias)
    }
}

/// Naive twin of `linearForward` (plain loops, no GEMM).
public func naiveLinearForward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                               n: Int, inFeatures: Int, outFeatures: Int) {
    for r in 0..<n {
        for o in 0..<outFeatures {
            var v: Float = bias?[o] ?? 0
            for i in 0..<inFeatures { v += x[r * inFeatures + i] * weight[o * inFeatures + i] }
            out[r * outFeatures + o] = v
        }
    }
}

