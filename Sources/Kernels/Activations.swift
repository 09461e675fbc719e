import CStrataKernels
import Foundation

// Element-wise and row-wise kernels on raw buffers. Each fast kernel has a naive twin
// (`...Reference`) beside it that tests compare against.

/// Exact (erf) GELU in place: x[n] <- 0.5 x (1 + erf(x / sqrt 2)).
/// On AVX-512 CPUs the C port of this loop runs instead (the same operations, the same bits).
public func geluInPlace(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    if sk_activations_simd_active() != 0 { return sk_gelu_f32(x, n) }
    let w = F16x.scalarCount
    let raw = UnsafeMutableRawPointer(x)
    var i = 0
    while i + w <= n {
        let v = raw.loadUnaligned(fromByteOffset: i * 4, as: F16x.self)
        raw.storeBytes(of: 0.5 * v * (1 + fastErf(v * 0.70710678118654752)), toByteOffset: i * 4, as: F16x.self)
        i += w
    }
    while i < n { x[i] = 0.5 * x[i] * (1 + fastErf(x[i] * 0.70710678118654752)); i += 1 }
}

/// Naive twin of `geluInPlace` (libm erf in double precision).
public func geluReference(_ x: UnsafeMutablePointer<Float>, count n: Int) {
    for i in 0..<n { let v = Double(x[i]); x[i] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot()))) }
}

/// x[rows, cols] <- x + bias[cols] broadcast over rows.
public func addBiasRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, bias: UnsafePointer<Float>) {
    for r in 0..<rows { addInPlace(x + r * cols, bias, count: cols) }
}

/// y[n] += x[n].
@inline(__always)
public func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count n: Int) {
    let w = F16x.scalarCount
    let ry = UnsafeMutableRawPointer(y), rx = UnsafeRawPointer(x)
    var i = 0
    while i + w <= n {
        let s = ry.loadUnaligned(fromByteOffset: i * 4, as: F16x.self) + rx.loadUnaligned(fromByteOffset: i * 4, as: F16x.self)
        ry.storeBytes(of: s, toByteOffset: i * 4, as: F16x.self)
        i += w
    }
    while i < n { y[i] += x[i]; i += 1 }
}

/// Row softmax in place with a scale: x[rows, ld] row r, first `cols` entries:
/// x <- softmax(scale * x). Entries past `cols` are left untouched.
/// On AVX-512 CPUs the C port of this loop runs instead (the same operations, the same bits).
public func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, scale: Float) {
    if sk_activations_simd_active() != 0 { return sk_softmax_rows_f32(x, rows, cols, ld, scale) }
    let w = F16x.scalarCount
    for r in 0..<rows {
        let row = x + r * ld
        let raw = UnsafeMutableRawPointer(row)
        var mxv = F16x(repeating: -Float.infinity)
        var j = 0
        while j + w <= cols {
            let v = raw.loadUnaligned(fromByteOffset: j * 4, as: F16x.self)
            mxv = mxv.replacing(with: v, where: v .> mxv)
            j += w
        }
        var mx = mxv.max()
        while j < cols { mx = row[j] > mx ? row[j] : mx; j += 1 }
        let shift = mx * scale
        var sumv = F16x(repeating: 0)
        j = 0
        while j + w <= cols {
            let e = fastExp(raw.loadUnaligned(fromByteOffset: j * 4, as: F16x.self) * scale - shift)
            raw.storeBytes(of: e, toByteOffset: j * 4, as: F16x.self)
            sumv += e
            j += w
        }
        var sum: Float = 0
        for lane in 0..<w { sum += sumv[lane] }   // lane order (the C port sums the same way)
        while j < cols { let e = fastExp(row[j] * scale - shift); row[j] = e; sum += e; j += 1 }
        let inv = 1 / sum
        j = 0
        while j + w <= cols {
            raw.storeBytes(of: raw.loadUnaligned(fromByteOffset: j * 4, as: F16x.self) * inv, toByteOffset: j * 4, as: F16x.self)
            j += w
        }
        while j < cols { row[j] *= inv; j += 1 }
    }
}

/// Naive twin of `softmaxRows` in double precision.
public func softmaxRowsReference(_ x: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ld: Int, scale: Float) {
    for r in 0..<rows {
        let row = x + r * ld
        var mx = -Double.infinity
        for j in 0..<cols { mx = max(mx, Double(row[j]) * Double(scale)) }
        var sum = 0.0
        for j in 0..<cols { sum += exp(Double(row[j]) * Double(scale) - mx) }
        for j in 0..<cols { row[j] = Float(exp(Double(row[j]) * Double(scale) - mx) / sum) }
    }
}
