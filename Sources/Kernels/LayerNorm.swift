/// LayerNorm over the last dimension, in place: x[rows, cols] row r <- (x - mean) / sqrt(var + eps) * gamma + beta.
public func layerNormRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                          gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float) {
    for r in 0..<rows {
        _ = layerNormRow(UnsafePointer(x + r * cols), out: x + r * cols, cols: cols, gamma: gamma, beta: beta, eps: eps)
    }
}

/// LayerNorm of one row, the one implementation inference and training share (same sums in the same
/// order): out[cols] = (x - mean) * rstd * gamma + beta, rstd = 1 / sqrt(var + eps) (biased variance,
/// as PyTorch). `out` may be `x`. Returns the row's mean and rstd (training keeps them for backward).
@inline(__always)
public func layerNormRow(_ row: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, cols: Int,
                         gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float) -> (mean: Float, rstd: Float) {
    let w = F16x.scalarCount
    let rg = UnsafeRawPointer(gamma), rb = UnsafeRawPointer(beta)
    let raw = UnsafeRawPointer(row), rawOut = UnsafeMutableRawPointer(out)
    var sumv = F16x(repeating: 0)
    var j = 0
    while j + w <= cols { sumv += raw.loadUnaligned(fromByteOffset: j * 4, as: F16x.self); j += w }
    var sum = sumv.sum()
    while j < cols { sum += row[j]; j += 1 }
    let mean = sum / Float(cols)
    let meanv = F16x(repeating: mean)
    var varv = F16x(repeating: 0)
    j = 0
    while j + w <= cols { let d = raw.loadUnaligned(fromByteOffset: j * 4, as: F16x.self) - meanv; varv += d * d; j += w }
    var variance = varv.sum()
    while j < cols { let d = row[j] - mean; variance += d * d; j += 1 }
    let inv = 1 / (variance / Float(cols) + eps).squareRoot()
    j = 0
    while j + w <= cols {
        let v = (raw.loadUnaligned(fromByteOffset: j * 4, as: F16x.self) - meanv) * inv
        let o = v * rg.loadUnaligned(fromByteOffset: j * 4, as: F16x.self) + rb.loadUnaligned(fromByteOffset: j * 4, as: F16x.self)
        rawOut.storeBytes(of: o, toByteOffset: j * 4, as: F16x.self)
        j += w
    }
    while j < cols { out[j] = (row[j] - mean) * inv * gamma[j] + beta[j]; j += 1 }
    return (mean, inv)
}

/// Naive twin of `layerNormRows` in double precision.
public func layerNormRowsReference(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
                                   gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float) {
    for r in 0..<rows {
        let row = x + r * cols
        var mean = 0.0
        for j in 0..<cols { mean += Double(row[j]) }
        mean /= Double(cols)
        var v = 0.0
        for j in 0..<cols { v += (Double(row[j]) - mean) * (Double(row[j]) - mean) }
        let inv = 1 / (v / Double(cols) + Double(eps)).squareRoot()
        for j in 0..<cols { row[j] = Float((Double(row[j]) - mean) * inv * Double(gamma[j]) + Double(beta[j])) }
    }
}
