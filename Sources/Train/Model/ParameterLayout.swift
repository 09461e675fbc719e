// Every trainable tensor of a BERT encoder (+ optional CE head) in one flat Float32 buffer.
// Names are Hugging Face BertModel names (no "bert." prefix; the list is Model's BertTensorNames). Within a layer, query/key/value
// weights are adjacent so they read as one fused [3H, H] matrix, and their biases as one [3H]
// (Model's EncoderLayerLayout; asserted when the layout is built).

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
    /// Typed offsets of each encoder layer's tensors in this buffer (Model's `EncoderLayerLayout`, shifted).
    public private(set) var layerOffsets: [EncoderLayerLayout] = []

    public init(_ s: BertShape) {
        shape = s
        let h = s.hidden
        let N = BertTensorNames.self
        add(N.wordEmbeddings, [s.vocabSize, h], decay: true)
        add(N.positionEmbeddings, [s.maxPositions, h], decay: true)
        add(N.tokenTypeEmbeddings, [s.typeVocabSize, h], decay: true)
        addNorm(N.embeddingsLayerNorm, h)
        let block = EncoderLayerLayout(hidden: h, intermediate: s.intermediate)
        for l in 0..<s.layers {
            // Model's one layer layout: query, key, value weights then their biases, adjacent (one fused
            // [3H, H] matrix and [3H] bias), then the rest of the layer
            let base = total
            for t in EncoderLayerLayout.tensors(layer: l, hidden: h, intermediate: s.intermediate) {
                add(t.name, t.shape, decay: t.decay)
            }
            layerOffsets.append(block.shifted(by: base))
        }
        if s.hasClassifier {
            addLinear(N.pooler, out: h, in: h)
            addLinear(N.classifier, out: s.numLabels, in: h)
        }
        for l in 0..<s.layers { checkLayer(l) }
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

extension ParameterLayout {
    /// Checks layer `l`'s typed offsets against the named entries, and the fused QKV reading
    /// (`qkvWeight` [3H, H], `qkvBias` [3H]): key and value follow the query.
    private func checkLayer(_ l: Int) {
        let p = BertTensorNames.layer(l), h = shape.hidden, o = layerOffsets[l]
        precondition(offset(p.key + ".weight") == o.qkvWeight + h * h && offset(p.value + ".weight") == o.qkvWeight + 2 * h * h,
                     "layer \(l): query, key and value weights must be adjacent to read as one [3H, H] matrix")
        precondition(offset(p.key + ".bias") == o.qkvBias + h && offset(p.value + ".bias") == o.qkvBias + 2 * h,
                     "layer \(l): query, key and value biases must be adjacent to read as one [3H] vector")
        let named: [(String, Int)] = [
            (p.query + ".weight", o.qkvWeight), (p.query + ".bias", o.qkvBias),
            (p.attentionOutput + ".weight", o.attentionOutputWeight), (p.attentionOutput + ".bias", o.attentionOutputBias),
            (p.attentionLayerNorm + ".weight", o.attentionNormGamma), (p.attentionLayerNorm + ".bias", o.attentionNormBeta),
            (p.intermediate + ".weight", o.intermediateWeight), (p.intermediate + ".bias", o.intermediateBias),
            (p.output + ".weight", o.outputWeight), (p.output + ".bias", o.outputBias),
            (p.outputLayerNorm + ".weight", o.outputNormGamma), (p.outputLayerNorm + ".bias", o.outputNormBeta)]
        for (name, at) in named { precondition(offset(name) == at, "layer \(l): \(name) is not where the layer layout puts it") }
    }
}
