import Kernels

/// The one packed layout of an encoder layer's tensors in a flat fp32 block: training's
/// `ParameterLayout` places each layer's tensors in this order, and the fp32 inference engine on the
/// sgemm kernel (`FP32Gemm.sgemm`; its default packed kernel keeps `PackedLinear` copies) holds one such
/// block per layer; both read it through `weights(in:eps:)`. Query, key and value weights
/// come first and adjacent, then their biases: one [3H, H] matrix and one [3H] vector, no copy.
/// Offsets count floats from the buffer start (`shifted(by:)` moves a block into a bigger buffer).
public struct EncoderLayerLayout: Sendable, Equatable {
    public let hidden: Int, intermediate: Int
    /// [3H, H] query | key | value weights; [3H] their biases.
    public private(set) var qkvWeight = 0, qkvBias = 0
    /// attention.output.dense [H, H] and [H]; its LayerNorm [H], [H].
    public private(set) var attentionOutputWeight = 0, attentionOutputBias = 0
    public private(set) var attentionNormGamma = 0, attentionNormBeta = 0
    /// intermediate.dense [I, H] and [I].
    public private(set) var intermediateWeight = 0, intermediateBias = 0
    /// output.dense [H, I] and [H]; its LayerNorm [H], [H].
    public private(set) var outputWeight = 0, outputBias = 0
    public private(set) var outputNormGamma = 0, outputNormBeta = 0
    /// Floats in one layer's block.
    public let count: Int

    /// A block starting at offset 0.
    public init(hidden h: Int, intermediate i: Int) {
        hidden = h; intermediate = i
        count = Self.storageOrder(hidden: h, intermediate: i).reduce(0) { $0 + $1.shape.reduce(1, *) }
        var at = 0
        for t in Self.storageOrder(hidden: h, intermediate: i) {
            if let f = t.field { self[keyPath: f] = at }
            at += t.shape.reduce(1, *)
        }
    }

    /// The same block `base` floats further into a buffer.
    public func shifted(by base: Int) -> EncoderLayerLayout {
        var s = self
        for t in Self.storageOrder(hidden: hidden, intermediate: intermediate) {
            if let f = t.field { s[keyPath: f] += base }
        }
        return s
    }

    /// The tensors of layer `l` in storage order: Hugging Face name, shape and role (initialisation and
    /// weight decay, see `TensorRole`).
    public static func tensors(layer l: Int, hidden h: Int, intermediate i: Int) -> [(name: String, shape: [Int], role: TensorRole)] {
        let p = BertTensorNames.layer(l)
        let modules = [p.query, p.key, p.value, p.query, p.key, p.value, p.attentionOutput, p.attentionOutput,
                       p.attentionLayerNorm, p.attentionLayerNorm, p.intermediate, p.intermediate,
                       p.output, p.output, p.outputLayerNorm, p.outputLayerNorm]
        return zip(modules, storageOrder(hidden: h, intermediate: i)).map { m, t in (m + t.role.nameSuffix, t.shape, t.role) }
    }

    /// Storage order; `field` is the offset field of each tensor that has one (key and value have none:
    /// they follow the query's).
    private static func storageOrder(hidden h: Int, intermediate i: Int)
        -> [(field: WritableKeyPath<EncoderLayerLayout, Int>?, shape: [Int], role: TensorRole)] {
        [(\.qkvWeight, [h, h], .weight), (nil, [h, h], .weight), (nil, [h, h], .weight),
         (\.qkvBias, [h], .bias), (nil, [h], .bias), (nil, [h], .bias),
         (\.attentionOutputWeight, [h, h], .weight), (\.attentionOutputBias, [h], .bias),
         (\.attentionNormGamma, [h], .normGamma), (\.attentionNormBeta, [h], .normBeta),
         (\.intermediateWeight, [i, h], .weight), (\.intermediateBias, [i], .bias),
         (\.outputWeight, [h, i], .weight), (\.outputBias, [h], .bias),
         (\.outputNormGamma, [h], .normGamma), (\.outputNormBeta, [h], .normBeta)]
    }

    /// The layer in `params` as the shared forward reads it: borrowed fp32 views, no copy.
    /// `params` must outlive the result.
    public func weights(in params: UnsafePointer<Float>, eps: Float) -> EncoderLayerWeights {
        let h = hidden, i = intermediate
        func dense(_ w: Int, _ b: Int, out: Int, in inF: Int) -> DenseWeights {
            .borrowed(weight: params + w, bias: params + b, outFeatures: out, inFeatures: inF)
        }
        return EncoderLayerWeights(
            qkv: dense(qkvWeight, qkvBias, out: 3 * h, in: h),
            attentionOutput: dense(attentionOutputWeight, attentionOutputBias, out: h, in: h),
            attentionNorm: .borrowed(gamma: params + attentionNormGamma, beta: params + attentionNormBeta, eps: eps),
            intermediate: dense(intermediateWeight, intermediateBias, out: i, in: h),
            output: dense(outputWeight, outputBias, out: h, in: i),
            outputNorm: .borrowed(gamma: params + outputNormGamma, beta: params + outputNormBeta, eps: eps))
    }
}
