// The typed views' tensors as writable fp32 pointers, for backward: one encoder layer's (read off a
// borrowed `EncoderLayerWeights`), the embedding stage's (`EmbeddingStageWeights`) and the CE head's
// (`ClassifierHeadWeights`). Backward reads parameters through one built over the parameter buffer and
// accumulates gradients through one built over the gradient buffer (same layout, the views
// `TrainableBert` resolves once from its `ParameterLayout`), so no offset is spelled out twice and no
// tensor is looked up by name.

import Model

typealias DenseTensors = (weight: UnsafeMutablePointer<Float>, bias: UnsafeMutablePointer<Float>)
typealias NormTensors = (gamma: UnsafeMutablePointer<Float>, beta: UnsafeMutablePointer<Float>)

/// The pointers of a borrowed dense view (training owns the buffer and may write it).
private func writable(_ d: DenseWeights) -> DenseTensors {
    guard let p = d.borrowedPointers else { preconditionFailure("training reads borrowed fp32 views only, not a packed copy") }
    return (UnsafeMutablePointer(mutating: p.weight), UnsafeMutablePointer(mutating: p.bias))
}

struct LayerTensors {
    /// [3H, H] | [3H]; [H, H] | [H]; [I, H] | [I]; [H, I] | [H]
    let qkv: DenseTensors, attentionOutput: DenseTensors, intermediate: DenseTensors, output: DenseTensors
    /// [H] | [H] each
    let attentionNorm: NormTensors, outputNorm: NormTensors

    /// The pointers of `view`, which must borrow a buffer this model owns and may write (training's
    /// `params` or `grads`; never a packed inference copy).
    init(_ view: EncoderLayerWeights) {
        func norm(_ n: NormWeights) -> NormTensors {
            guard let p = n.borrowedPointers else { preconditionFailure("training reads borrowed fp32 views only, not owned arrays") }
            return (UnsafeMutablePointer(mutating: p.gamma), UnsafeMutablePointer(mutating: p.beta))
        }
        qkv = writable(view.qkv); attentionOutput = writable(view.attentionOutput)
        intermediate = writable(view.intermediate); output = writable(view.output)
        attentionNorm = norm(view.attentionNorm); outputNorm = norm(view.outputNorm)
    }
}

struct EmbeddingTensors {
    /// [vocab, H], [positions, H], [typeVocab, H]
    let word: UnsafeMutablePointer<Float>, position: UnsafeMutablePointer<Float>, tokenType: UnsafeMutablePointer<Float>
    /// [H] | [H]
    let norm: NormTensors

    /// The pointers of `view`, which must borrow training's `params` or `grads`.
    init(_ view: EmbeddingStageWeights) {
        word = UnsafeMutablePointer(mutating: view.word); position = UnsafeMutablePointer(mutating: view.position)
        tokenType = UnsafeMutablePointer(mutating: view.tokenType)
        norm = (UnsafeMutablePointer(mutating: view.gamma), UnsafeMutablePointer(mutating: view.beta))
    }
}

struct HeadTensors {
    /// pooler [H, H] | [H]; classifier [L, H] | [L]
    let pooler: DenseTensors, classifier: DenseTensors

    /// The pointers of `view`, which must borrow training's `params` or `grads`.
    init(_ view: ClassifierHeadWeights) {
        pooler = writable(view.pooler); classifier = writable(view.classifier)
    }
}
