import Foundation
import Kernels
import Model

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

/// Loads a model (a directory, a name in $STRATA_MODELS, or a Hugging Face cache id).
func loadEvalModel(_ path: String, batch: Int = 32, precision: Precision = .fp32) throws -> EvalModel {
    let enc = try TextEncoder.load(path, precision: precision)
    enc.batchSize = batch
    return EncoderEvalModel(encoder: enc, name: enc.directory.standardizedFileURL.lastPathComponent)
}

/// `EvalModel` over the Model module's `TextEncoder`.
struct EncoderEvalModel: EvalModel {
    let encoder: TextEncoder
    let name: String
    var isCrossEncoder: Bool { encoder.kind == .crossEncoder }
    var numLayers: Int { encoder.numLayers }

    func tokenize(_ texts: [String]) -> Int {
        texts.reduce(0) { $0 + encoder.encodeForEmbedding($1).ids.count }
    }

    func embed(_ texts: [String], layer: Int?) throws -> Matrix {
        try encoder.embed(texts, layer: layer, normalize: true)
    }

    func embedAllLayers(_ texts: [String]) throws -> [Matrix] {
        try encoder.embedAllLayers(texts, pooling: .mean, normalize: true)
    }

    func score(_ pairs: [(String, String)]) throws -> [Float] {
        try encoder.score(pairs)
    }
}
