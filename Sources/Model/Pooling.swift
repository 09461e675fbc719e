import Foundation

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
/// An empty selection pools to the zero vector (as sentence-transformers' clamped mean does).
/// - Returns: [H]
public func pool(_ hidden: UnsafePointer<Float>, hiddenSize h: Int, include: [Bool], mode: Pooling,
                 into out: UnsafeMutablePointer<Float>) {
    switch mode {
    case .cls:
        out.update(from: hidden, count: h)
    case .mean:
        out.update(repeating: 0, count: h)
        var n = 0
        for (j, use) in include.enumerated() where use {
            for k in 0..<h { out[k] += hidden[j * h + k] }
            n += 1
        }
        if n > 0 { let inv = 1 / Float(n); for k in 0..<h { out[k] *= inv } }
    case .max:
        var any = false
        for (j, use) in include.enumerated() where use {
            for k in 0..<h { out[k] = any ? Swift.max(out[k], hidden[j * h + k]) : hidden[j * h + k] }
            any = true
        }
        if !any { out.update(repeating: 0, count: h) }
    }
}

/// Scales each row of `m` to unit L2 norm (rows of zeros stay zero).
public func normalizeRows(_ data: inout [Float], rows: Int, cols: Int) {
    for r in 0..<rows {
        var s: Float = 0
        for k in 0..<cols { s += data[r * cols + k] * data[r * cols + k] }
        let n = s.squareRoot()
        if n > 0 { let inv = 1 / Swift.max(n, 1e-12); for k in 0..<cols { data[r * cols + k] *= inv } }
    }
}
