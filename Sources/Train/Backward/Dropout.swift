// Seeded randomness for training: dropout masks and parameter initialisation.

/// SplitMix64: small, fast, deterministic for a seed; its state can be saved and restored.
public struct TrainRNG: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    /// Next 64 random bits.
    @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    @inline(__always)
    public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

import Foundation

/// Fills mask[0..<n] with inverted-dropout scales: 0 with probability p, else 1 / (1 - p).
public func makeDropoutMask(_ mask: UnsafeMutablePointer<Float>, count n: Int, p: Float, rng: inout TrainRNG) {
    let keep = 1 / (1 - p)
    for i in 0..<n { mask[i] = rng.uniform() < p ? 0 : keep }
}

/// x[i] *= mask[i] (forward of dropout, and its backward on the gradient).
public func applyMask(_ x: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>, count n: Int) {
    for i in 0..<n { x[i] *= mask[i] }
}
