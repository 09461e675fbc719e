// Backward of the sentence-embedding heads: masked mean pooling, CLS pooling, L2 normalisation, tanh
// (their forwards, shared with inference, are in Model/Pooling.swift).
// Token buffers are packed (see Kernels/PackedAttention.swift); pooled outputs are [B, H].

import Foundation
import Kernels

/// Backward of `meanPoolForward`: dhidden[t] += w[t] / count_b * dout[b] (ACCUMULATES).
public func meanPoolBackward(dhidden: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                             weights: [Float], lengths: [Int], dim: Int) {
    let offs = tokenOffsets(lengths: lengths)
    for b in 0..<lengths.count {
        let range = offs[b]..<(offs[b] + lengths[b])
        var count: Float = 0
        for t in range { count += weights[t] }
        let inv = 1 / max(count, 1e-9)
        let d = dout + b * dim
        for t in range {
            let w = weights[t] * inv
            if w == 0 { continue }
            let dh = dhidden + t * dim
            for i in 0..<dim { dh[i] += w * d[i] }
        }
    }
}

/// Backward of `clsPoolForward` (ACCUMULATES into each sequence's first row of dhidden).
public func clsPoolBackward(dhidden: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, lengths: [Int], dim: Int) {
    for (b, o) in tokenOffsets(lengths: lengths).enumerated() {
        let dh = dhidden + o * dim, d = dout + b * dim
        for i in 0..<dim { dh[i] += d[i] }
    }
}

/// Backward of `l2NormalizeForward`: dx += (dy - y (y . dy)) / ||x|| (ACCUMULATES).
public func l2NormalizeBackward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                                out: UnsafePointer<Float>, norms: UnsafePointer<Float>, rows: Int, dim: Int) {
    for r in 0..<rows {
        let y = out + r * dim, dy = dout + r * dim, d = dx + r * dim
        var dot: Float = 0
        for i in 0..<dim { dot += y[i] * dy[i] }
        let inv = 1 / norms[r]
        for i in 0..<dim { d[i] += (dy[i] - y[i] * dot) * inv }
    }
}

/// Backward of `tanhForward` from its output y: dx += (1 - y^2) dout (ACCUMULATES).
public func tanhBackward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, out: UnsafePointer<Float>, n: Int) {
    for i in 0..<n { dx[i] += (1 - out[i] * out[i]) * dout[i] }
}
