import Wire

/// What a worker computes with: loaded models by name. The product uses `ModelEngine`
/// (the Model module's encoders); tests may use any deterministic implementation.
public protocol InferenceEngine: AnyObject {
    /// Loads the model directory `path` under `name`; returns its embedding dimension and kind.
    func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool)
    /// Embeddings [texts.count, dimension] of the model's standard embedding (DE: its pooling; CE: self-pair).
    func embed(model: String, texts: [String]) throws -> Vectors
    /// Cross-encoder scores of (query, passage) pairs.
    func score(model: String, query: String, passages: [String]) throws -> [Float]
}

/// An error an engine or the worker reports, mapped to a status code.
public struct EngineError: Error, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public init(_ code: StatusCode, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }
}
