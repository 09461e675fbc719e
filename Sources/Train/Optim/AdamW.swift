// AdamW (Loshchilov & Hutter; torch.optim.AdamW semantics) over the flat parameter buffer, with
// HF's no-decay rule (biases and LayerNorm weights), global-norm clipping and a warm-up + linear-decay schedule.

import Foundation

/// Hyper-parameters of AdamW.
public struct AdamWConfig: Codable, Sendable, Equatable {
    public var lr: Float = 2e-5
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-8
    public var weightDecay: Float = 0.01
    /// Global L2 norm the gradients are clipped to before the update (0 = no clipping).
    public var maxGradNorm: Float = 1
    public init(lr: Float = 2e-5, weightDecay: Float = 0.01, maxGradNorm: Float = 1) {
        self.lr = lr; self.weightDecay = weightDecay; self.maxGradNorm = maxGradNorm
    }
}

/// Linear warm-up from 0 to 1 over `warmupSteps`, then linear decay to 0 at `totalSteps`
/// (transformers' get_linear_schedule_with_warmup). `step` counts optimizer steps from 0.
public func linearWarmupDecay(step: Int, warmupSteps: Int, totalSteps: Int) -> Float {
    if step < warmupSteps { return Float(step) / Float(max(1, warmupSteps)) }
    return max(0, Float(totalSteps - step) / Float(max(1, totalSteps - warmupSteps)))
}

/// AdamW state (first and second moments, step count) for a parameter buffer of `count` floats.
public final class AdamW {
    public var config: AdamWConfig
    public private(set) var m: [Float]
    public private(set) var v: [Float]
    /// Optimizer steps taken so far.
    public private(set) var step = 0
    /// Per-element decay flag (false for biases / LayerNorm), from the layout.
    let decayMask: [Bool]

    /// Optimizer for every tensor of `layout`, weight decay where the layout allows it.
    public convenience init(layout: ParameterLayout, config: AdamWConfig) {
        var mask = [Bool](repeating: false, count: layout.total)
        for e in layout.entries where e.decay { for i in e.offset..<(e.offset + e.count) { mask[i] = true } }
        self.init(decayMask: mask, config: config)
    }

    /// Optimizer for `decayMask.count` parameters; decay applies where the mask is true.
    public init(decayMask: [Bool], config: AdamWConfig) {
        self.config = config
        m = [Float](repeating: 0, count: decayMask.count)
        v = m
        self.decayMask = decayMask
    }

    /// Restores saved moments and step (from a checkpoint).
    public func restore(m: [Float], v: [Float], step: Int) throws {
        guard m.count == self.m.count, v.count == self.v.count else {
            throw TrainError.checkpoint("optimizer state holds \(m.count) values, model has \(self.m.count)")
        }
        self.m = m; self.v = v; self.step = step
    }

    /// Global L2 norm of grads[0..<count].
    public static func globalNorm(_ grads: UnsafePointer<Float>, count: Int) -> Float {
        var s = 0.0
        for i in 0..<count { s += Double(grads[i]) * Double(grads[i]) }
        return Float(s.squareRoot())
    }

    /// One update: clips `grads` to config.maxGradNorm (in place), then
    /// p -= lr * (mhat / (sqrt(vhat) + eps) + wd * p) with lr = config.lr * lrScale (decay only where allowed).
    /// Returns the gradient norm before clipping.
    @discardableResult
    public func update(params: UnsafeMutablePointer<Float>, grads: UnsafeMutablePointer<Float>, lrScale: Float = 1) -> Float {
        let n = m.count
        let norm = AdamW.globalNorm(grads, count: n)
        if config.maxGradNorm > 0 && norm > config.maxGradNorm {
            let c = config.maxGradNorm / (norm + 1e-6)
            for i in 0..<n { grads[i] *= c }
        }
        step += 1
        let lr = config.lr * lrScale, b1 = config.beta1, b2 = config.beta2
        let bc1 = 1 - pow(b1, Float(step)), bc2 = 1 - pow(b2, Float(step))
        let stepSize = lr / bc1, bc2Sqrt = bc2.squareRoot(), wd = lr * config.weightDecay, eps = config.eps
        m.withUnsafeMutableBufferPointer { mp in
            v.withUnsafeMutableBufferPointer { vp in
                decayMask.withUnsafeBufferPointer { dm in
                    for i in 0..<n {
                        let g = grads[i]
                        if dm[i] { params[i] -= wd * params[i] }   // decoupled decay (torch: p *= 1 - lr*wd)
                        mp[i] = b1 * mp[i] + (1 - b1) * g
                        vp[i] = b2 * vp[i] + (1 - b2) * g * g
                        params[i] -= stepSize * mp[i] / (vp[i].squareRoot() / bc2Sqrt + eps)
                    }
                }
            }
        }
        return norm
    }
}

/// Errors of the training code: each names the file / line / flag at fault.
public enum TrainError: Error, CustomStringConvertible, Equatable {
    case data(String)
    case checkpoint(String)
    case config(String)

    public var description: String {
        switch self {
        case .data(let s), .checkpoint(let s), .config(let s): return s
        }
    }
}
