// One encoder layer's tensors as fp32 pointers, read off a borrowed `EncoderLayerWeights` (the typed
// per-layer view the shared forward reads): backward reads parameters through one over the parameter
// buffer and accumulates gradients through one over the gradient buffer (same layout), so no layer
// offset is spelled out twice.

import Model

struct LayerTensors {
    typealias Dense = (weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>)
    typealias Norm = (gamma: UnsafeMutablePointer<Float>, beta: UnsafeMutablePointer<Float>)
    /// [3H, H] | [3H]; [H, H] | [H]; [I, H] | [I]; [H, I] | [H]
    let qkv: Dense, attentionOutput: Dense, intermediate: Dense, output: Dense
    /// [H] | [H] each
    let attentionNorm: Norm, outputNorm: Norm

    /// The pointers of `view`, which must borrow a buffer this model owns and may write (training's
    /// `params` or `grads`; never a packed inference copy).
    init(_ view: EncoderLayerWeights) {
        func dense(_ d: DenseWeights) -> Dense {
            guard let p = d.borrowedPointers else { preconditionFailure("training reads borrowed fp32 layer views only") }
            return (UnsafeMutablePointer(mutating: p.weight), UnsafeMutablePointer(mutating: p.bias))
        }
        func norm(_ n: NormWeights) -> Norm {
            guard let p = n.borrowedPointers else { preconditionFailure("training reads borrowed fp32 layer views only") }
            return (UnsafeMutablePointer(mutating: p.gamma), UnsafeMutablePointer(mutating: p.beta))
        }
        qkv = dense(view.qkv); attentionOutput = dense(view.attentionOutput)
        intermediate = dense(view.intermediate); output = dense(view.output)
        attentionNorm = norm(view.attentionNorm); outputNorm = norm(view.outputNorm)
    }
}
