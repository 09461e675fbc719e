import Foundation

/// A BERT configuration read from a Hugging Face `config.json` (the HF key names).
public struct BertConfig: Codable, Equatable, Sendable {
    public var hiddenSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var intermediateSize: Int
    public var maxPositionEmbeddings: Int
    public var typeVocabSize: Int
    public var vocabSize: Int
    public var layerNormEps: Float
    public var hiddenAct: String
    public var padTokenId: Int?
    public var architectures: [String]?
    public var id2label: [String: String]?
    public var modelType: String?

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads", intermediateSize = "intermediate_size"
        case maxPositionEmbeddings = "max_position_embeddings", typeVocabSize = "type_vocab_size"
        case vocabSize = "vocab_size", layerNormEps = "layer_norm_eps", hiddenAct = "hidden_act"
        case padTokenId = "pad_token_id", architectures, id2label, modelType = "model_type"
    }

    public init(hiddenSize: Int, numHiddenLayers: Int, numAttentionHeads: Int, intermediateSize: Int,
                maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2, vocabSize: Int,
                layerNormEps: Float = 1e-12, hiddenAct: String = "gelu", padTokenId: Int? = 0,
                architectures: [String]? = ["BertModel"], id2label: [String: String]? = nil, modelType: String? = "bert") {
        self.hiddenSize = hiddenSize; self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads; self.intermediateSize = intermediateSize
        self.maxPositionEmbeddings = maxPositionEmbeddings; self.typeVocabSize = typeVocabSize
        self.vocabSize = vocabSize; self.layerNormEps = layerNormEps; self.hiddenAct = hiddenAct
        self.padTokenId = padTokenId; self.architectures = architectures; self.id2label = id2label
        self.modelType = modelType
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        hiddenSize = try c.decode(Int.self, forKey: .hiddenSize)
        numHiddenLayers = try c.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try c.decode(Int.self, forKey: .numAttentionHeads)
        intermediateSize = try c.decode(Int.self, forKey: .intermediateSize)
        maxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 512
        typeVocabSize = try c.decodeIfPresent(Int.self, forKey: .typeVocabSize) ?? 2
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        layerNormEps = try c.decodeIfPresent(Float.self, forKey: .layerNormEps) ?? 1e-12
        hiddenAct = try c.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "gelu"
        padTokenId = try c.decodeIfPresent(Int.self, forKey: .padTokenId)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures)
        id2label = try c.decodeIfPresent([String: String].self, forKey: .id2label)
        modelType = try c.decodeIfPresent(String.self, forKey: .modelType)
    }

    /// Number of classifier outputs (HF: len(id2label), default 2; cross encoders have 1).
    public var numLabels: Int { id2label?.count ?? 2 }

    /// Per-head dimension.
    public var headDim: Int { hiddenSize / numAttentionHeads }

    /// True for `BertForSequenceClassification` checkpoints (cross encoders).
    public var isSequenceClassifier: Bool { architectures?.contains { $0.hasSuffix("ForSequenceClassification") } ?? false }

    /// Reads and validates `config.json`.
    public static func load(_ path: String) throws -> BertConfig {
        guard let data = FileManager.default.contents(atPath: path) else { throw ModelError.fileMissing(path) }
        let cfg: BertConfig
        do { cfg = try JSONDecoder().decode(BertConfig.self, from: data) } catch {
            throw ModelError.badConfig(file: path, reason: "\(error)")
        }
        try cfg.validate(path)
        return cfg
    }

    func validate(_ path: String) throws {
        if let t = modelType, t != "bert" {
            throw ModelError.badConfig(file: path, reason: "model_type '\(t)' is not a BERT model")
        }
        guard hiddenSize > 0, numHiddenLayers > 0, numAttentionHeads > 0, hiddenSize % numAttentionHeads == 0 else {
            throw ModelError.badConfig(file: path, reason: "hidden_size \(hiddenSize) must be a positive multiple of num_attention_heads \(numAttentionHeads)")
        }
        guard intermediateSize > 0, vocabSize > 0, maxPositionEmbeddings > 0, typeVocabSize > 0 else {
            throw ModelError.badConfig(file: path, reason: "sizes must be positive")
        }
        // The shortest input the engine builds is [CLS] [SEP] (a DE) or [CLS] q [SEP] p [SEP] with
        // empty texts (a CE, and a CE's self-pair embedding): it must fit the position table.
        let shortest = isSequenceClassifier ? 3 : 2
        guard maxPositionEmbeddings >= shortest else {
            throw ModelError.badConfig(file: path, reason: "max_position_embeddings \(maxPositionEmbeddings) is too small: the shortest input is \(shortest) tokens")
        }
        guard layerNormEps > 0, layerNormEps.isFinite else {
            throw ModelError.badConfig(file: path, reason: "layer_norm_eps \(layerNormEps) must be a positive finite number")
        }
        guard ["gelu", "gelu_python"].contains(hiddenAct) else {
            throw ModelError.badConfig(file: path, reason: "hidden_act '\(hiddenAct)' is not supported (exact erf gelu only)")
        }
    }

    /// Writes `config.json` (HF keys).
    public func save(_ path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
