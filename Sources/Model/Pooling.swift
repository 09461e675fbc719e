import Foundation
import Kernels

/// How a sequence of hidden states becomes one vector.
public enum Pooling: String, Sendable, CaseIterable {
    /// Mean over the pooled positions.
    case mean
    /// The [CLS] position (0).
    case cls
    /// Element-wise maximum over the pooled positions.
    case max
}

/// Pools one sequence: `hidden` [S, H] of sequence b, positions where `include[j]` is true.
/// Mean and CLS are the packed poolings training runs (`meanPoolForward`, `clsPoolForward`) on a
/// one-sequence batch. An empty selection pools to the zero vector (as sentence-transformers' clamped
/// mean does).
/// - Returns: [H]
public func pool(_ hidden: UnsafePointer<Float>, hiddenSize h: Int, include: [Bool], mode: Pooling,
                 into out: UnsafeMutablePointer<Float>) {
    switch mode {
    case .cls:
        clsPoolForward(out: out, hidden: hidden, lengths: [include.count], dim: h)
    case .mean:
        meanPoolForward(out: out, hidden: hidden, weights: include.map { $0 ? 1 : 0 }, lengths: [include.count], dim: h)
    case .max:
        var any = false
        for (j, use) in include.enumerated() where use {
            for k in 0..<h { out[k] = any ? Swift.max(out[k], hidden[j * h + k]) : hidden[j * h + k] }
            any = true
        }
        if !any { out.update(repeating: 0, count: h) }
    }
}

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

/// out[b] = hidden[offsets[b]] (each sequence's first token, [CLS]); out [B, D].
public func clsPoolForward(out: UnsafeMutablePointer<Float>, hidden: UnsafePointer<Float>, lengths: [Int], dim: Int) {
    for (b, o) in tokenOffsets(lengths: lengths).enumerated() { (out + b * dim).update(from: hidden + o * dim, count: dim) }
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

/// out[i] = tanh(x[i]).
public func tanhForward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, n: Int) {
    for i in 0..<n { out[i] = tanh(x[i]) }
}

/// Scales each row of `data` [rows, cols] to unit L2 norm (`l2NormalizeForward`, as training; rows of
/// zeros stay zero).
public func normalizeRows(_ data: inout [Float], rows: Int, cols: Int) {
    var norms = [Float](repeating: 0, count: rows)
    data.withUnsafeMutableBufferPointer { d in
        l2NormalizeForward(out: d.baseAddress!, norms: &norms, x: UnsafePointer(d.baseAddress!), rows: rows, dim: cols)
    }
}
