// Every trainable tensor of a BERT encoder (+ optional CE head) in one flat Float32 buffer.
// Names are Hugging Face BertModel names (no "bert." prefix). Within a layer, query/key/value
// weights are adjacent so they read as one fused [3H, H] matrix, and their biases as one [3H].

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

    public init(_ s: BertShape) {
        shape = s
        let h = s.hidden
        add("embeddings.word_embeddings.weight", [s.vocabSize, h], decay: true)
        add("embeddings.position_embeddings.weight", [s.maxPositions, h], decay: true)
        add("embeddings.token_type_embeddings.weight", [s.typeVocabSize, h], decay: true)
        add("embeddings.LayerNorm.weight", [h], decay: false)
        add("embeddings.LayerNorm.bias", [h], decay: false)
        for l in 0..<s.layers {
            let p = "encoder.layer.\(l)."
            for m in ["query", "key", "value"] { add(p + "attention.self.\(m).weight", [h, h], decay: true) }
            for m in ["query", "key", "value"] { add(p + "attention.self.\(m).bias", [h], decay: false) }
            add(p + "attention.output.dense.weight", [h, h], decay: true)
            add(p + "attention.output.dense.bias", [h], decay: false)
            add(p + "attention.output.LayerNorm.weight", [h], decay: false)
            add(p + "attention.output.LayerNorm.bias", [h], decay: false)
            add(p + "intermediate.dense.weight", [s.intermediate, h], decay: true)
            add(p + "intermediate.dense.bias", [s.intermediate], decay: false)
            add(p + "output.dense.weight", [h, s.intermediate], decay: true)
            add(p + "output.dense.bias", [h], decay: false)
            add(p + "output.LayerNorm.weight", [h], decay: false)
            add(p + "output.LayerNorm.bias", [h], decay: false)
        }
        if s.hasClassifier {
            add("pooler.dense.weight", [h, h], decay: true)
            add("pooler.dense.bias", [h], decay: false)
            add("classifier.weight", [s.numLabels, h], decay: true)
            add("classifier.bias", [s.numLabels], decay: false)
        }
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
