// LayerNorm over the last axis, forward and backward (llm.c style, flat buffers).
// N rows of C channels: x, out [N, C]; gamma, beta [C]; mean, rstd [N] cached for backward.
// The model's forwards (embedding stage, encoder layer) call Kernels' layerNormRow in their own fused row
// passes; `layerNormForward` is the same rows on their own, for the gradient and twin tests.

import Foundation
import Kernels

/// out[n, :] = (x[n, :] - mean[n]) * rstd[n] * gamma + beta, with rstd = 1 / sqrt(var + eps)
/// (biased variance, as PyTorch), row by row through Kernels' `layerNormRow` (the sums inference makes).
/// Writes `mean` and `rstd` [N] for the backward pass.
public func layerNormForward(out: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                             rstd: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>,
                             gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                             n: Int, c: Int, eps: Float) {
    for r in 0..<n {
        (mean[r], rstd[r]) = layerNormRow(x + r * c, out: out + r * c, cols: c, gamma: gamma, beta: beta, eps: eps)
    }
}

/// Backward of `layerNormForward`. ACCUMULATES into dx [N, C], dgamma [C], dbeta [C].
public func layerNormBackward(dx: UnsafeMutablePointer<Float>, dgamma: UnsafeMutablePointer<Float>,
                              dbeta: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                              x: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
                              mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, n: Int, c: Int) {
    let invC = 1 / Float(c)
    for r in 0..<n {
        let xr = x + r * c, dr = dout + r * c, dxr = dx + r * c
        let m = mean[r], s = rstd[r]
        var dnormMean: Float = 0, dnormNormMean: Float = 0
        for i in 0..<c {
            let norm = (xr[i] - m) * s
            let dnorm = gamma[i] * dr[i]
            dnormMean += dnorm
            dnormNormMean += dnorm * norm
        }
        dnormMean *= invC
        dnormNormMean *= invC
        for i in 0..<c {
            let norm = (xr[i] - m) * s
            let dnorm = gamma[i] * dr[i]
            dbeta[i] += dr[i]
            dgamma[i] += norm * dr[i]
            dxr[i] += (dnorm - dnormMean - norm * dnormNormMean) * s
        }
    }
}
