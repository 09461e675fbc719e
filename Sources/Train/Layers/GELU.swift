// Exact (erf) GELU, as BERT's hidden_act "gelu": y = 0.5 x (1 + erf(x / sqrt 2)).
// Elementwise over N values, spread over `parallelism.threads` threads; erf and exp are Kernels' 16-lane fastErf / fastExp
// (|error| < 2e-7). `geluForward` wraps Kernels' geluInPlace, which the model's encoder layer calls itself, row by
// row; training's backward uses `geluBackward`.

import Foundation
import Kernels

/// Below this many values one thread does the work, and `geluBackward` uses its scalar loop (threads and the
/// 16-lane path pay off on big tensors only).
let smallGELU = 1 << 14

/// out[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2))), i in 0..<n.
public func geluForward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, n: Int,
                        parallelism: Parallelism = .process) {
    out.update(from: x, count: n)
    if n < smallGELU { geluInPlace(out, count: n); return }
    parallelRanges(n, minPerWorker: 1 << 15, workers: parallelism.threads) { r in
        geluInPlace(out + r.lowerBound, count: r.count)
    }
}

/// Backward of `geluForward`. ACCUMULATES dx[i] += gelu'(x[i]) * dout[i], where
/// gelu'(x) = 0.5 (1 + erf(x / sqrt 2)) + x * exp(-x^2 / 2) / sqrt(2 pi).
public func geluBackward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                         x: UnsafePointer<Float>, n: Int, parallelism: Parallelism = .process) {
    let invSqrt2: Float = 0.70710678118654752
    let invSqrt2Pi: Float = 0.39894228040143268
    parallelRanges(n, minPerWorker: 1 << 15, workers: parallelism.threads) { r in
        let w = n < smallGELU ? Int.max / 2 : F16x.scalarCount   // small inputs: scalar loop only
        var i = r.lowerBound
        let rx = UnsafeRawPointer(x), rd = UnsafeRawPointer(dout), rg = UnsafeMutableRawPointer(dx)
        while i + w <= r.upperBound {
            let v = rx.loadUnaligned(fromByteOffset: i * 4, as: F16x.self)
            let cdf = 0.5 * (1 + fastErf(v * invSqrt2))
            let pdf = fastExp(-0.5 * v * v) * invSqrt2Pi
            let g = rg.loadUnaligned(fromByteOffset: i * 4, as: F16x.self)
                + (cdf + v * pdf) * rd.loadUnaligned(fromByteOffset: i * 4, as: F16x.self)
            rg.storeBytes(of: g, toByteOffset: i * 4, as: F16x.self)
            i += w
        }
        while i < r.upperBound {
            let v = x[i]
            let cdf = 0.5 * (1 + fastErf(v * invSqrt2))
            let pdf = fastExp(-0.5 * v * v) * invSqrt2Pi
            dx[i] += (cdf + v * pdf) * dout[i]
            i += 1
        }
    }
}
