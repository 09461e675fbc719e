// Dropout masks for training, drawn from Kernels' SplitMix64 (the trainer's generator, whose state is
// saved with checkpoints).

import Foundation
import Kernels

/// Fills mask[0..<n] with inverted-dropout scales: 0 with probability p, else 1 / (1 - p).
public func makeDropoutMask(_ mask: UnsafeMutablePointer<Float>, count n: Int, p: Float, rng: inout SplitMix64) {
    let keep = 1 / (1 - p)
    for i in 0..<n { mask[i] = rng.uniform() < p ? 0 : keep }
}

/// x[i] *= mask[i] (forward of dropout, and its backward on the gradient).
public func applyMask(_ x: UnsafeMutablePointer<Float>, mask: UnsafePointer<Float>, count n: Int) {
    for i in 0..<n { x[i] *= mask[i] }
}
