import Wire

/// What a worker computes with: loaded models by name. The product uses `ModelEngine`
/// (the Model module's encoders); tests may use any deterministic implementation.
public protocol InferenceEngine: AnyObject {
    /// Loads the model directory `path` under `name`; returns its embedding dimension and kind.
    func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool)
    /// `loadModel(name:path:)`, and when `embedLayer` is set, `embed` under `name` gives that
    /// layer's mean-pooled (a CE: self-pair), L2-normalised embeddings instead of the model's own.
    func loadModel(name: String, path: String, embedLayer: Int?) throws -> (dimension: Int, crossEncoder: Bool)
    /// Embeddings [texts.count, dimension] of the model's standard embedding (DE: its pooling; CE: self-pair).
    func embed(model: String, texts: [String]) throws -> Vectors
    /// Cross-encoder scores of (query, passage) pairs.
    func score(model: String, query: String, passages: [String]) throws -> [Float]

    /// Tokens the model's forward pass sees for `text` embedded alone (the cost of one row).
    func tokenCount(model: String, text: String) -> Int
    /// Tokens the model's forward pass sees for the pair (query, passage).
    func pairTokenCount(model: String, query: String, passage: String) -> Int
    /// Embeddings of serving texts gathered from several requests: one forward pass for up to
    /// `maxBatchTokens` padded tokens. Rows equal `embed` of each text alone within float rounding.
    func embedServing(model: String, texts: [String], maxBatchTokens: Int) throws -> Vectors
    /// Cross-encoder scores of pairs gathered from several requests (one forward pass for up to
    /// `maxBatchTokens` padded tokens).
    func scoreServing(model: String, pairs: [(query: String, passage: String)], maxBatchTokens: Int) throws -> [Float]
    /// How `embed(model:texts:)` batches `texts` inside: index groups, one forward pass each, in the
    /// engine's order. Embedding one group alone (its texts in the group's order) gives exactly the
    /// rows `embed` gives those texts in the whole call, so a chunk run group by group is
    /// byte-identical to the chunk run at once.
    func embedPlan(model: String, texts: [String]) -> [[Int]]
    /// The arithmetic this engine embeds with ("fp32", "bf16", "int8"): a worker tells the
    /// coordinator at registration (documents and queries must share it) and includes it in its
    /// stores' fingerprints.
    var precisionName: String { get }
}

/// Defaults for engines without a tokenizer of their own (tests): a token estimate from the
/// UTF-8 length, serving calls that forward to `embed` / `score`, and fixed groups of 32 in order.
public extension InferenceEngine {
    func loadModel(name: String, path: String, embedLayer: Int?) throws -> (dimension: Int, crossEncoder: Bool) {
        guard embedLayer == nil else { throw EngineError(.unimplemented, "this engine has no layer-k embeddings") }
        return try loadModel(name: name, path: path)
    }
    func tokenCount(model: String, text: String) -> Int { 2 + text.utf8.count / 4 }
    func pairTokenCount(model: String, query: String, passage: String) -> Int { 3 + (query.utf8.count + passage.utf8.count) / 4 }
    func embedServing(model: String, texts: [String], maxBatchTokens: Int) throws -> Vectors { try embed(model: model, texts: texts) }
    func scoreServing(model: String, pairs: [(query: String, passage: String)], maxBatchTokens: Int) throws -> [Float] {
        // consecutive pairs with the same query go in one `score` call
        var out: [Float] = []
        var start = 0
        while start < pairs.count {
            var end = start + 1
            while end < pairs.count && pairs[end].query == pairs[start].query { end += 1 }
            out += try score(model: model, query: pairs[start].query, passages: pairs[start..<end].map(\.passage))
            start = end
        }
        return out
    }
    var precisionName: String { "fp32" }
    func embedPlan(model: String, texts: [String]) -> [[Int]] {
        stride(from: 0, to: texts.count, by: 32).map { Array($0..<min(texts.count, $0 + 32)) }
    }
}

/// An error an engine or the worker reports, mapped to a status code.
public struct EngineError: Error, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public init(_ code: StatusCode, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }
}
