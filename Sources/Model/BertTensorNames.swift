/// The Hugging Face tensor names of a BERT encoder, in BertModel naming (no `bert.` prefix): the one
/// list that the checkpoint reader and writer (`BertWeights`) and training's flat layout
/// (`ParameterLayout`, the conversions between the two) all use.
///
/// Module names come without their `.weight` / `.bias` suffix; a `BertForSequenceClassification`
/// checkpoint prefixes every name except `classifier` with `bert.`.
public enum BertTensorNames {
    /// [V, H]
    public static let wordEmbeddings = "embeddings.word_embeddings.weight"
    /// [P, H]
    public static let positionEmbeddings = "embeddings.position_embeddings.weight"
    /// [T, H]
    public static let tokenTypeEmbeddings = "embeddings.token_type_embeddings.weight"
    /// LayerNorm module after the embedding sum ([H] weight and bias).
    public static let embeddingsLayerNorm = "embeddings.LayerNorm"
    /// Cross-encoder pooler (dense [H, H] + tanh on [CLS]).
    public static let pooler = "pooler.dense"
    /// Cross-encoder classifier [labels, H]; at the root (never `bert.`-prefixed) in HF checkpoints.
    public static let classifier = "classifier"

    /// The module names of encoder layer `n`.
    public static func layer(_ n: Int) -> BertLayerNames { BertLayerNames(n) }
}

/// The module names (without `.weight` / `.bias`) of one encoder layer, `encoder.layer.N.*`.
public struct BertLayerNames: Sendable, Equatable {
    public let query: String
    public let key: String
    public let value: String
    /// attention.output.dense [H, H]
    public let attentionOutput: String
    public let attentionLayerNorm: String
    /// intermediate.dense [I, H]
    public let intermediate: String
    /// output.dense [H, I]
    public let output: String
    public let outputLayerNorm: String

    public init(_ n: Int) {
        let p = "encoder.layer.\(n)."
        query = p + "attention.self.query"; key = p + "attention.self.key"; value = p + "attention.self.value"
        attentionOutput = p + "attention.output.dense"; attentionLayerNorm = p + "attention.output.LayerNorm"
        intermediate = p + "intermediate.dense"; output = p + "output.dense"; outputLayerNorm = p + "output.LayerNorm"
    }
}
