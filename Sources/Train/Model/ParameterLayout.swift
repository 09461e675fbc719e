// Every trainable tensor of a BERT encoder (+ optional CE head) in one flat Float32 buffer.
// Names are Hugging Face BertModel names (no "bert." prefix; the list is Model's BertTensorNames). Within a layer, query/key/value
// weights are adjacent so they read as one fused [3H, H] matrix, and their biases as one [3H]
// (asserted when the layout is built: see LayerOffsets).

import Model

/// The sizes of a trainable BERT (the subset of BertConfig the kernels need).
public struct BertShape: Codable, Equatable, Sendable {
    public var vocabSize: Int
    public var maxPositions: Int
    public var typeVocabSize: Int
    public var hidden: Int
    public var layers: Int
    public var heads: Int
    public var intermediate: Int
    public var layerNormEps: Float
    /// Pooler (dense + tanh on [CLS]) and a classifier with `numLabels` outputs: a cross encoder head.
    public var hasClassifier: Bool
    public var numLabels: Int

    public init(vocabSize: Int, maxPositions: Int, typeVocabSize: Int, hidden: Int, layers: Int, heads: Int,
                intermediate: Int, layerNormEps: Float = 1e-12, hasClassifier: Bool = false, numLabels: Int = 1) {
        precondition(hidden % heads == 0, "hidden \(hidden) not divisible by heads \(heads)")
        self.vocabSize = vocabSize; self.maxPositions = maxPositions; self.typeVocabSize = typeVocabSize
        self.hidden = hidden; self.layers = layers; self.heads = heads; self.intermediate = intermediate
        self.layerNormEps = layerNormEps; self.hasClassifier = hasClassifier; self.numLabels = numLabels
    }
}

/// One tensor's place in the flat buffer.
public struct ParameterEntry: Sendable, Equatable {
    /// Hugging Face name, e.g. "encoder.layer.0.attention.self.query.weight".
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    /// False for biases and LayerNorm weights (HF's no-decay rule).
    public let decay: Bool
}

/// Offsets of every tensor of a `BertShape` in one flat buffer.
public struct ParameterLayout: Sendable {
    public let shape: BertShape
    public private(set) var entries: [ParameterEntry] = []
    public private(set) var total = 0
    private var index: [String: Int] = [:]
    /// Typed offsets of each encoder layer's tensors (see `LayerOffsets`).
    public private(set) var layerOffsets: [LayerOffsets] = []

    public init(_ s: BertShape) {
        shape = s
        let h = s.hidden
        let N = BertTensorNames.self
        add(N.wordEmbeddings, [s.vocabSize, h], decay: true)
        add(N.positionEmbeddings, [s.maxPositions, h], decay: true)
        add(N.tokenTypeEmbeddings, [s.typeVocabSize, h], decay: true)
        addNorm(N.embeddingsLayerNorm, h)
        for l in 0..<s.layers {
            let p = N.layer(l)
            // query, key, value weights then their biases, adjacent: one fused [3H, H] matrix and [3H] bias
            for m in [p.query, p.key, p.value] { add(m + ".weight", [h, h], decay: true) }
            for m in [p.query, p.key, p.value] { add(m + ".bias", [h], decay: false) }
            addLinear(p.attentionOutput, out: h, in: h)
            addNorm(p.attentionLayerNorm, h)
            addLinear(p.intermediate, out: s.intermediate, in: h)
            addLinear(p.output, out: h, in: s.intermediate)
            addNorm(p.outputLayerNorm, h)
        }
        if s.hasClassifier {
            addLinear(N.pooler, out: h, in: h)
            addLinear(N.classifier, out: s.numLabels, in: h)
        }
        let built = self
        layerOffsets = (0..<s.layers).map { LayerOffsets(layout: built, layer: $0) }
    }

    private mutating func addLinear(_ module: String, out: Int, in inF: Int) {
        add(module + ".weight", [out, inF], decay: true)
        add(module + ".bias", [out], decay: false)
    }

    private mutating func addNorm(_ module: String, _ h: Int) {
        add(module + ".weight", [h], decay: false)
        add(module + ".bias", [h], decay: false)
    }

    private mutating func add(_ name: String, _ shape: [Int], decay: Bool) {
        let e = ParameterEntry(name: name, shape: shape, offset: total, decay: decay)
        index[name] = entries.count
        entries.append(e)
        total += e.count
    }

    /// The entry named `name` (HF name without "bert."), or nil.
    public func entry(_ name: String) -> ParameterEntry? { index[name].map { entries[$0] } }

    /// Offset of a tensor that must exist (programming error otherwise).
    public func offset(_ name: String) -> Int {
        guard let e = entry(name) else { preconditionFailure("no parameter \(name)") }
        return e.offset
    }
}

/// One encoder layer's tensors in the flat buffer, typed: offsets of each weight and bias.
/// Built once per layout; the fused QKV reading (`qkvWeight` [3H, H], `qkvBias` [3H]) is checked here:
/// the key and value weights follow the query weight, and their biases follow the query bias.
public struct LayerOffsets: Sendable, Equatable {
    /// [3H, H] query | key | value weights; [3H] their biases.
    public let qkvWeight: Int, qkvBias: Int
    /// attention.output.dense [H, H] and [H].
    public let attentionOutputWeight: Int, attentionOutputBias: Int
    public let attentionNormGamma: Int, attentionNormBeta: Int
    /// intermediate.dense [I, H] and [I].
    public let intermediateWeight: Int, intermediateBias: Int
    /// output.dense [H, I] and [H].
    public let outputWeight: Int, outputBias: Int
    public let outputNormGamma: Int, outputNormBeta: Int

    init(layout: ParameterLayout, layer l: Int) {
        let p = BertTensorNames.layer(l), h = layout.shape.hidden
        func o(_ n: String) -> Int { layout.offset(n) }
        qkvWeight = o(p.query + ".weight"); qkvBias = o(p.query + ".bias")
        precondition(o(p.key + ".weight") == qkvWeight + h * h && o(p.value + ".weight") == qkvWeight + 2 * h * h,
                     "layer \(l): query, key and value weights must be adjacent to read as one [3H, H] matrix")
        precondition(o(p.key + ".bias") == qkvBias + h && o(p.value + ".bias") == qkvBias + 2 * h,
                     "layer \(l): query, key and value biases must be adjacent to read as one [3H] vector")
        attentionOutputWeight = o(p.attentionOutput + ".weight"); attentionOutputBias = o(p.attentionOutput + ".bias")
        attentionNormGamma = o(p.attentionLayerNorm + ".weight"); attentionNormBeta = o(p.attentionLayerNorm + ".bias")
        intermediateWeight = o(p.intermediate + ".weight"); intermediateBias = o(p.intermediate + ".bias")
        outputWeight = o(p.output + ".weight"); outputBias = o(p.output + ".bias")
        outputNormGamma = o(p.outputLayerNorm + ".weight"); outputNormBeta = o(p.outputLayerNorm + ".bias")
    }
}

extension LayerOffsets {
    /// This layer's parameters in `params` (a buffer of this layout) as the shared encoder-layer
    /// forward reads them: borrowed fp32 views, no copy (QKV: the adjacent query, key and value
    /// tensors read as one [3H, H] matrix and [3H] bias). `params` must outlive the result.
    public func weights(in params: UnsafePointer<Float>, shape s: BertShape) -> EncoderLayerWeights {
        let h = s.hidden, i = s.intermediate
        func dense(_ w: Int, _ b: Int, out: Int, in inF: Int) -> DenseWeights {
            .borrowed(weight: params + w, bias: params + b, outFeatures: out, inFeatures: inF)
        }
        return EncoderLayerWeights(
            qkv: dense(qkvWeight, qkvBias, out: 3 * h, in: h),
            attentionOutput: dense(attentionOutputWeight, attentionOutputBias, out: h, in: h),
            attentionNorm: .borrowed(gamma: params + attentionNormGamma, beta: params + attentionNormBeta, eps: s.layerNormEps),
            intermediate: dense(intermediateWeight, intermediateBias, out: i, in: h),
            output: dense(outputWeight, outputBias, out: h, in: i),
            outputNorm: .borrowed(gamma: params + outputNormGamma, beta: params + outputNormBeta, eps: s.layerNormEps))
    }
}
