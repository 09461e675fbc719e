import CStrataKernels
import Foundation

// Naive Swift twins of the reduced-precision kernels (CStrataKernels), written from the kernels'
// contracts, not from their code, plus thin wrappers over the kernels' building blocks so tests can
// compare each step. The twins compute the same float operations in the same order, so results are
// expected to be bit-identical, not merely close.

/// Symmetric int8 quantization of each row of x [rows, cols]:
/// scale[r] = max|x[r, :]| / 127, q = clamp(round_half_even(x * (127 / max|x[r, :]|)), -127, 127)
/// (an all-zero row has scale 0 and q = 0). Returns q [rows, cols] and scale [rows].
public func quantizeRowsInt8Reference(_ x: [Float], rows: Int, cols: Int) -> (q: [Int8], scales: [Float]) {
    var q = [Int8](repeating: 0, count: rows * cols), scales = [Float](repeating: 0, count: rows)
    for r in 0..<rows {
        var amax: Float = 0
        for c in 0..<cols { amax = max(amax, abs(x[r * cols + c])) }
        let inv: Float = amax > 0 ? 127 / amax : 0
        scales[r] = amax / 127
        for c in 0..<cols {
            let v = (x[r * cols + c] * inv).rounded(.toNearestOrEven)
            q[r * cols + c] = Int8(min(max(v, -127), 127))
        }
    }
    return (q, scales)
}

/// Naive twin of an int8 `PackedLinear`: y[rows, out] = x · W^T + b with W quantized per output
/// channel, x per row, the products summed exactly in integers, then
/// y = Float(acc) * (sx[r] * sw[n]) + b[n].   x [rows, in], weight [out, in], bias [out] or nil.
public func int8LinearReference(_ x: [Float], rows: Int, weight: [Float], bias: [Float]?, outFeatures: Int, inFeatures: Int) -> [Float] {
    let (qx, sx) = quantizeRowsInt8Reference(x, rows: rows, cols: inFeatures)
    let (qw, sw) = quantizeRowsInt8Reference(weight, rows: outFeatures, cols: inFeatures)
    var y = [Float](repeating: 0, count: rows * outFeatures)
    for r in 0..<rows {
        for n in 0..<outFeatures {
            var acc: Int32 = 0
            for k in 0..<inFeatures { acc += Int32(qx[r * inFeatures + k]) * Int32(qw[n * inFeatures + k]) }
            var v = Float(acc) * (sx[r] * sw[n])
            if let bias { v = v + bias[n] }
            y[r * outFeatures + n] = v
        }
    }
    return y
}

/// fp32 -> bf16 bits as `vcvtneps2bf16` converts: round to nearest even; zero and denormals to a
/// signed zero; infinities kept; NaN made quiet.
public func bf16BitsReference(_ f: Float) -> UInt16 {
    let u = f.bitPattern
    let exponent = (u >> 23) & 0xFF
    if exponent == 0 { return UInt16((u >> 16) & 0x8000) }
    if exponent == 0xFF { return UInt16(u >> 16) | ((u & 0x7F_FFFF) != 0 ? 0x40 : 0) }
    return UInt16((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
}

/// The float a bf16 value stands for (denormal bf16 read as zero, as `vdpbf16ps` does).
public func floatFromBF16Reference(_ h: UInt16) -> Float {
    var u = UInt32(h) << 16
    if u & 0x7F80_0000 == 0 { u &= 0x8000_0000 }
    return Float(bitPattern: u)
}

/// Naive twin of a bf16 `PackedLinear`: x and W rounded to bf16, then for each output
/// acc = 0; over k in pairs (2p, 2p+1): acc += x[2p+1]·w[2p+1], then acc += x[2p]·w[2p], each a fused
/// multiply-add (the product unrounded, even below fp32's normal range) rounded to fp32 and denormal
/// results flushed to zero (the order and rounding of `vdpbf16ps`, sk_dpbf16_step; an odd K ends with a
/// zero pair member); y = acc + b.
public func bf16LinearReference(_ x: [Float], rows: Int, weight: [Float], bias: [Float]?, outFeatures: Int, inFeatures: Int) -> [Float] {
    func flush(_ v: Float) -> Float { abs(v) < Float.leastNormalMagnitude ? (v.sign == .minus ? -0.0 : 0.0) : v }
    let k = inFeatures, kp = (k + 1) / 2 * 2
    func rounded(_ a: [Float], _ r: Int) -> [Float] {
        (0..<kp).map { $0 < k ? floatFromBF16Reference(bf16BitsReference(a[r * k + $0])) : 0 }
    }
    var y = [Float](repeating: 0, count: rows * outFeatures)
    let wr = (0..<outFeatures).map { rounded(weight, $0) }
    for r in 0..<rows {
        let xr = rounded(x, r)
        for n in 0..<outFeatures {
            var acc: Float = 0
            for p in 0..<(kp / 2) {
                acc = flush(acc.addingProduct(xr[2 * p + 1], wr[n][2 * p + 1]))
                acc = flush(acc.addingProduct(xr[2 * p], wr[n][2 * p]))
            }
            y[r * outFeatures + n] = bias.map { acc + $0[n] } ?? acc
        }
    }
    return y
}

/// The kernels' building blocks, exposed for tests.
public enum Int8KernelParts {
    /// The kernel's per-row activation quantizer: returns q + 128 as u8 [rows, cols] (padding dropped)
    /// and the row scales.
    public static func quantizeRows(_ x: [Float], rows: Int, cols: Int) -> (u8: [UInt8], scales: [Float]) {
        let kp = sk_int8_padded_k(cols)
        var xq = [UInt8](repeating: 0, count: rows * kp), sx = [Float](repeating: 0, count: rows)
        sk_int8_quantize_rows(x, rows, cols, cols, &xq, &sx)
        let trimmed = (0..<rows).flatMap { r in xq[(r * kp)..<(r * kp + cols)] }
        return (trimmed, sx)
    }

    /// The kernel's weight quantizer: q [out, in], per-channel scales and sums of q.
    public static func quantizeWeights(_ w: [Float], outFeatures n: Int, inFeatures k: Int) -> (q: [Int8], scales: [Float], columnSums: [Int32]) {
        var packed = [Int8](repeating: 0, count: sk_int8_packed_bytes(n, k))
        var s = [Float](repeating: 0, count: n), c = [Int32](repeating: 0, count: n), q = [Int8](repeating: 0, count: n * k)
        sk_int8_pack_weights(w, n, k, &packed, &s, &c, &q)
        return (q, s, c)
    }

    /// The raw int32 GEMM of the kernel: acc[m, n] = sum_k (xq[m, k] - 128) * q[n, k], where xq
    /// [m, k] is u8 activations (any bytes, 0...255, to probe the +128 offset at its extremes) and
    /// q [n, k] int8 weights in -127...127 (the quantizer's range).
    public static func gemmS32(xq: [UInt8], m: Int, k: Int, q: [Int8], n: Int) -> [Int32] {
        precondition(xq.count == m * k && q.count == n * k)
        let kp = sk_int8_padded_k(k), np = sk_padded_n(n)
        var packed = [Int8](repeating: 0, count: np * kp)
        var sums = [Int32](repeating: 0, count: n)
        for j in 0..<n {
            let panel = (j / 16) * kp * 16, lane = j % 16
            for p in 0..<k {
                packed[panel + (p / 4) * 64 + lane * 4 + p % 4] = q[j * k + p]
                sums[j] += Int32(q[j * k + p])
            }
        }
        var a = [UInt8](repeating: 128, count: m * kp)
        for r in 0..<m { for p in 0..<k { a[r * kp + p] = xq[r * k + p] } }
        var acc = [Int32](repeating: 0, count: m * n)
        sk_int8_gemm_s32(a, m, k, packed, sums, n, &acc, n)
        return acc
    }
}

/// The bf16 kernel's building blocks, exposed for tests.
public enum BF16KernelParts {
    /// The kernel's fp32 -> bf16 row conversion (SIMD or portable, whichever is active) of `x`.
    public static func convert(_ x: [Float]) -> [UInt16] {
        let kp = sk_bf16_padded_k(x.count)
        var out = [UInt16](repeating: 0, count: kp)
        sk_bf16_convert_rows(x, 1, x.count, x.count, &out)
        return Array(out.prefix(x.count))
    }
}
