// Every trainable tensor of a BERT encoder (+ optional CE head) in one flat Float32 buffer, and the typed
// views that read it. Names are Hugging Face BertModel names (no "bert." prefix; the list is Model's
// BertTensorNames); they are used here, to build the layout, and by the checkpoint conversions only.
// The buffer holds Model's three typed blocks back to back: the embedding stage (EmbeddingStageLayout),
// each encoder layer (EncoderLayerLayout: query, key and value weights adjacent, read as one fused
// [3H, H] matrix, and their biases as one [3H]) and the CE head (ClassifierHeadLayout). Forward and
// backward read parameters and gradients only through those blocks' typed offsets; `init` checks them
// against the named entries (offset and shape of every tensor).

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
    /// Weight, bias or LayerNorm gamma / beta: how it is initialised and whether it decays.
    public let role: TensorRole
    public var count: Int { shape.reduce(1, *) }
    /// False for biases and LayerNorm weights (HF's no-decay rule).
    public var decay: Bool { role.decays }
}

/// A tensor as a typed view reads it: the offset the view reads and the shape it assumes (for checks).
public struct ViewedTensor: Sendable, Equatable {
    /// The Hugging Face name of the layout entry the view must read.
    public var name: String
    public var offset: Int
    public var shape: [Int]
    /// Which view reads it, for messages (e.g. "layer 0 fused QKV weight, rows H..<2H").
    public var reader: String

    public init(name: String, offset: Int, shape: [Int], reader: String) {
        self.name = name; self.offset = offset; self.shape = shape; self.reader = reader
    }
}

/// Offsets of every tensor of a `BertShape` in one flat buffer.
public struct ParameterLayout: Sendable {
    public let shape: BertShape
    public private(set) var entries: [ParameterEntry] = []
    public private(set) var total = 0
    private var index: [String: Int] = [:]
    /// Typed offsets of the embedding stage's tensors in this buffer (Model's `EmbeddingStageLayout`, at 0).
    public let embedding: EmbeddingStageLayout
    /// Typed offsets of each encoder layer's tensors in this buffer (Model's `EncoderLayerLayout`, shifted).
    public private(set) var layerOffsets: [EncoderLayerLayout] = []
    /// Typed offsets of the CE head's tensors (Model's `ClassifierHeadLayout`, shifted); nil without a head.
    public private(set) var head: ClassifierHeadLayout?

    public init(_ s: BertShape) {
        shape = s
        let h = s.hidden
        embedding = EmbeddingStageLayout(vocab: s.vocabSize, positions: s.maxPositions, typeVocab: s.typeVocabSize, hidden: h)
        for t in embedding.tensors { add(t.name, t.shape, t.role) }
        let block = EncoderLayerLayout(hidden: h, intermediate: s.intermediate)
        for l in 0..<s.layers {
            // Model's one layer layout: query, key, value weights then their biases, adjacent (one fused
            // [3H, H] matrix and [3H] bias), then the rest of the layer
            let base = total
            for t in EncoderLayerLayout.tensors(layer: l, hidden: h, intermediate: s.intermediate) { add(t.name, t.shape, t.role) }
            layerOffsets.append(block.shifted(by: base))
        }
        if s.hasClassifier {
            let c = ClassifierHeadLayout(hidden: h, labels: s.numLabels).shifted(by: total)
            for t in c.tensors { add(t.name, t.shape, t.role) }
            head = c
        }
        let problems = Self.mismatches(entries: entries, viewed: viewedTensors)
        precondition(problems.isEmpty, "parameter layout: the typed views disagree with the named tensors: "
                     + problems.joined(separator: "; "))
    }

    private mutating func add(_ name: String, _ shape: [Int], _ role: TensorRole) {
        let e = ParameterEntry(name: name, shape: shape, offset: total, role: role)
        index[name] = entries.count
        entries.append(e)
        total += e.count
    }

    /// The entry named `name` (HF name without "bert."), or nil. For checkpoint conversion and tests:
    /// forward and backward read the typed offsets (`embedding`, `layerOffsets`, `head`).
    public func entry(_ name: String) -> ParameterEntry? { index[name].map { entries[$0] } }

    /// Offset of a tensor that must exist (programming error otherwise).
    public func offset(_ name: String) -> Int {
        guard let e = entry(name) else { preconditionFailure("no parameter \(name)") }
        return e.offset
    }
}

extension ParameterLayout {
    /// Every tensor as the typed views read it (the offset and the shape each view assumes), written
    /// out name by name rather than derived from the storage order, so that a view reading the wrong
    /// tensor disagrees with the named entries. Query, key and value are the three row blocks of the
    /// fused [3H, H] QKV view (and of its [3H] bias): their adjacency is part of the check.
    public var viewedTensors: [ViewedTensor] {
        let N = BertTensorNames.self, h = shape.hidden, i = shape.intermediate, e = embedding
        var v = [
            ViewedTensor(name: N.wordEmbeddings, offset: e.word, shape: [e.vocab, e.hidden], reader: "embedding word table"),
            ViewedTensor(name: N.positionEmbeddings, offset: e.position, shape: [e.positions, e.hidden],
                         reader: "embedding position table"),
            ViewedTensor(name: N.tokenTypeEmbeddings, offset: e.tokenType, shape: [e.typeVocab, e.hidden],
                         reader: "embedding token-type table"),
            ViewedTensor(name: N.embeddingsLayerNorm + ".weight", offset: e.gamma, shape: [e.hidden], reader: "embedding LayerNorm gamma"),
            ViewedTensor(name: N.embeddingsLayerNorm + ".bias", offset: e.beta, shape: [e.hidden], reader: "embedding LayerNorm beta"),
        ]
        for (l, o) in layerOffsets.enumerated() {
            let p = N.layer(l)
            func t(_ name: String, _ at: Int, _ shape: [Int], _ reader: String) {
                v.append(ViewedTensor(name: name, offset: at, shape: shape, reader: "layer \(l) " + reader))
            }
            t(p.query + ".weight", o.qkvWeight, [h, h], "fused QKV weight, rows 0..<H")
            t(p.key + ".weight", o.qkvWeight + h * h, [h, h], "fused QKV weight, rows H..<2H")
            t(p.value + ".weight", o.qkvWeight + 2 * h * h, [h, h], "fused QKV weight, rows 2H..<3H")
            t(p.query + ".bias", o.qkvBias, [h], "fused QKV bias, 0..<H")
            t(p.key + ".bias", o.qkvBias + h, [h], "fused QKV bias, H..<2H")
            t(p.value + ".bias", o.qkvBias + 2 * h, [h], "fused QKV bias, 2H..<3H")
            t(p.attentionOutput + ".weight", o.attentionOutputWeight, [h, h], "attention output weight")
            t(p.attentionOutput + ".bias", o.attentionOutputBias, [h], "attention output bias")
            t(p.attentionLayerNorm + ".weight", o.attentionNormGamma, [h], "attention LayerNorm gamma")
            t(p.attentionLayerNorm + ".bias", o.attentionNormBeta, [h], "attention LayerNorm beta")
            t(p.intermediate + ".weight", o.intermediateWeight, [i, h], "intermediate weight")
            t(p.intermediate + ".bias", o.intermediateBias, [i], "intermediate bias")
            t(p.output + ".weight", o.outputWeight, [h, i], "output weight")
            t(p.output + ".bias", o.outputBias, [h], "output bias")
            t(p.outputLayerNorm + ".weight", o.outputNormGamma, [h], "output LayerNorm gamma")
            t(p.outputLayerNorm + ".bias", o.outputNormBeta, [h], "output LayerNorm beta")
        }
        if let c = head {
            v += [
                ViewedTensor(name: N.pooler + ".weight", offset: c.poolerWeight, shape: [c.hidden, c.hidden], reader: "head pooler weight"),
                ViewedTensor(name: N.pooler + ".bias", offset: c.poolerBias, shape: [c.hidden], reader: "head pooler bias"),
                ViewedTensor(name: N.classifier + ".weight", offset: c.classifierWeight, shape: [c.labels, c.hidden],
                             reader: "head classifier weight"),
                ViewedTensor(name: N.classifier + ".bias", offset: c.classifierBias, shape: [c.labels], reader: "head classifier bias"),
            ]
        }
        return v
    }

    /// How `viewed` disagrees with the named `entries`: a view reading a tensor at another offset or
    /// with another shape than its entry's, a view of a name the layout lacks, a tensor read twice or by
    /// no view. Empty when they agree; `init` refuses a layout for which it is not.
    public static func mismatches(entries: [ParameterEntry], viewed: [ViewedTensor]) -> [String] {
        var problems: [String] = []
        let byName = Dictionary(entries.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var seen = Set<String>()
        for v in viewed {
            guard seen.insert(v.name).inserted else { problems.append("\(v.name) is read by two views (\(v.reader))"); continue }
            guard let e = byName[v.name] else { problems.append("\(v.reader) reads \(v.name), which the layout lacks"); continue }
            if e.offset != v.offset || e.shape != v.shape {
                problems.append("\(v.reader) reads \(v.name) at offset \(v.offset) as \(v.shape); "
                                + "the layout has it at offset \(e.offset) as \(e.shape)")
            }
        }
        for e in entries where !seen.contains(e.name) { problems.append("no typed view reads \(e.name)") }
        return problems
    }
}
