// Sentence-embedding heads: masked mean pooling, CLS pooling, L2 normalisation, tanh.
// Token buffers are packed (see Kernels/PackedAttention.swift); pooled outputs are [B, H].

/// out[b] = sum_t w[t] * hidden[t] / max(sum_t w[t], 1e-9) over sequence b's tokens
/// (sentence-transformers' masked mean; w = 1 on counted tokens, 0 on left-out ones).
/// Packed layout: hidden [N, D], weights [N], sequence b = tokens offsets[b] ..< offsets[b] + lengths[b]; out [B, D].
public func meanPoolForward(out: UnsafeMutablePointer<Float>, hidden: UnsafePointer<Float>,
                            weights: [Float], lengths: [Int], dim: Int) {
    let offs = tokenOffsets(lengths: lengths)
    for b in 0..<lengths.count {
        let o = out + b * dim
        o.update(repeating: 0, count: dim)
        var count: Float = 0
        for t in offs[b]..<(offs[b] + lengths[b]) {
            let w = weights[t]
            if w == 0 { continue }
            count += w
            let h = hidden + t * dim
            for i in 0..<dim { o[i] += w * h[i] }
        }
        let inv = 1 / max(count, 1e-9)
        for i in 0..<dim { o[i] *= inv }
    }
}

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

/// out[b] = hidden[offsets[b]] (each sequence's first token, [CLS]); out [B, D].
public func clsPoolForward(out: UnsafeMutablePointer<Float>, hidden: UnsafePointer<Float>, lengths: [Int], dim: Int) {
    for (b, o) in tokenOffsets(lengths: lengths).enumerated() { (out + b * dim).update(from: hidden + o * dim, count: dim) }
}

/// Backward of `clsPoolForward` (ACCUMULATES into each sequence's first row of dhidden).
public func clsPoolBackward(dhidden: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, lengths: [Int], dim: Int) {
    for (b, o) in tokenOffsets(lengths: lengths).enumerated() {
        let dh = dhidden + o * dim, d = dout + b * dim
        for i in 0..<dim { dh[i] += d[i] }
    }
}

/// out[r] = x[r] / max(||x[r]||, 1e-12) for N rows of D (torch.nn.functional.normalize); norms [N] cached.
public func l2NormalizeForward(out: UnsafeMutablePointer<Float>, norms: UnsafeMutablePointer<Float>,
                               x: UnsafePointer<Float>, rows: Int, dim: Int) {
    for r in 0..<rows {
        let xr = x + r * dim, o = out + r * dim
        var s: Float = 0
        for i in 0..<dim { s += xr[i] * xr[i] }
        let n = max(s.squareRoot(), 1e-12)
        norms[r] = n
        for i in 0..<dim { o[i] = xr[i] / n }
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

/// out[i] = tanh(x[i]).
public func tanhForward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, n: Int) {
    for i in 0..<n { out[i] = tanh(x[i]) }
}

/// Backward of `tanhForward` from its output y: dx += (1 - y^2) dout (ACCUMULATES).
public func tanhBackward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>, out: UnsafePointer<Float>, n: Int) {
    for i in 0..<n { dx[i] += (1 - out[i] * out[i]) * dout[i] }
}

import Kernels
import Foundation
