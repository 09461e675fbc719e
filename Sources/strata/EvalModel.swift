import Foundation
import Kernels

/// What `strata eval` and `strata layers` need from an encoder, in one place, so the commands do
/// not depend on how the Model module spells its API.
protocol EvalModel {
    /// Short label: the model directory's last path component.
    var name: String { get }
    /// True for a cross encoder (embeds a text paired with itself, scores pairs).
    var isCrossEncoder: Bool { get }
    /// Number of encoder layers N (hidden states 0...N).
    var numLayers: Int { get }
    /// Tokenises `texts` (timing only); returns the number of tokens.
    func tokenize(_ texts: [String]) -> Int
    /// L2-normalised embeddings [texts.count, dim]: the model's own pooling at the last layer when
    /// `layer` is nil, else mean pooling of hidden state `layer`.
    func embed(_ texts: [String], layer: Int?) throws -> Matrix
    /// L2-normalised mean-pooled embeddings of every hidden state 0...N from one forward pass.
    func embedAllLayers(_ texts: [String]) throws -> [Matrix]
    /// Cross-encoder relevance logits for (query, passage) pairs.
    func score(_ pairs: [(String, String)]) throws -> [Float]
}

/// Loads a model directory for evaluation.
func loadEvalModel(_ path: String) throws -> EvalModel {
    throw CLIError("the encoder engine (Model module) is not on this branch yet; cannot load \(path)")
}
