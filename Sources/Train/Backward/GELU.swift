// Exact (erf) GELU, as BERT's hidden_act "gelu": y = 0.5 x (1 + erf(x / sqrt 2)).
// Elementwise over N values; erf and exp are Kernels' vectorisable fastErf / fastExp (|error| < 2e-7).

import Kernels

/// out[i] = 0.5 * x[i] * (1 + erf(x[i] / sqrt(2))), i in 0..<n.
public func geluForward(out: UnsafeMutablePointer<Float>, x: UnsafePointer<Float>, n: Int) {
    let invSqrt2: Float = 0.70710678118654752
    for i in 0..<n {
        let v = x[i]
        out[i] = 0.5 * v * (1 + fastErf(v * invSqrt2))
    }
}

/// Backward of `geluForward`. ACCUMULATES dx[i] += gelu'(x[i]) * dout[i], where
/// gelu'(x) = 0.5 (1 + erf(x / sqrt 2)) + x * exp(-x^2 / 2) / sqrt(2 pi).
public func geluBackward(dx: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                         x: UnsafePointer<Float>, n: Int) {
    let invSqrt2: Float = 0.70710678118654752
    let invSqrt2Pi: Float = 0.39894228040143268
    for i in 0..<n {
        let v = x[i]
        let cdf = 0.5 * (1 + fastErf(v * invSqrt2))
        let pdf = fastExp(-0.5 * v * v) * invSqrt2Pi
        dx[i] += (cdf + v * pdf) * dout[i]
    }
}
