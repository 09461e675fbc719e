import Foundation
import Kernels
import Tokenizer

/// What a checkpoint is: a dual encoder embeds one text; a cross encoder scores a pair.
public enum ModelKind: String, Sendable {
    case dualEncoder = "dual-encoder"
    case crossEncoder = "cross-encoder"
}

/// A loaded model directory (weights, tokenizer, sentence-transformers pooling settings) with
/// the three operations of Strata: DE embeddings, CE scores, and layer-k embeddings of either.
///
/// Texts are tokenised, sorted by length and run in batches so padding stays small; results come
/// back in input order. A text gives the same result in any batch (attention never sees padding).
public final class TextEncoder: @unchecked Sendable {
    public let directory: URL
    public let engine: BertEngine
    public let tokenizer: BertTokenizer
    public let kind: ModelKind
    /// Pooling of the final embedding (sentence-transformers 1_Pooling/config.json; mean when absent).
    public let defaultPooling: Pooling
    /// True when the model ends in a Normalize module (modules.json).
    public let normalizes: Bool
    /// Sequences per batch.
    public var batchSize = 32
    /// Upper bound on a batch's size counted as B x its longest sequence (the forward is packed, so
    /// the real token count is at most this). Small enough that a cluster worker, which runs
    /// bulk work one such batch at a time, answers a waiting query after at most one of them; large
    /// enough that each core's group still makes GEMMs of hundreds of rows.
    public var maxBatchTokens = 2048

    /// Precision of the dense layers (weights quantized or converted when the model was loaded).
    public var precision: Precision { engine.precision }
    public var config: BertConfig { engine.config }
    /// Number of encoder layers N (hidden states exist for layers 0...N).
    public var numLayers: Int { engine.config.numHiddenLayers }
    /// Embedding dimension (hidden size).
    public var dimension: Int { engine.config.hiddenSize }

    /// Loads a model from a directory, a name in `$STRATA_MODELS`, or a Hugging Face cache id; the
    /// checkpoint's fp32 weights are converted to `precision` as they are loaded.
    public static func load(_ name: String, precision: Precision = .fp32) throws -> TextEncoder {
        let dir = try ModelLocator.resolve(name)
        let encoder = try TextEncoder(directory: dir, weights: BertWeights.load(directory: dir), precision: precision)
        // The checkpoint's tensors (and, in bf16 / int8, its fp32 dense weights) are freed by now; hand
        // the freed heap back to the system so resident memory reflects what the engine holds.
        releaseFreedMemory()
        return encoder
    }

    /// Wraps already-loaded weights with the tokenizer and pooling settings of `directory`.
    public init(directory: URL, weights: BertWeights, precision: Precision = .fp32) throws {
        self.directory = directory
        let k = max(weights.config.hiddenSize, weights.config.intermediateSize)
        if precision == .int8 && k > PackedLinear.int8MaxInFeatures {
            throw ModelError.badConfig(file: directory.appendingPathComponent("config.json").path,
                                       reason: "a dense layer of \(k) inputs is too wide for int8 (its int32 sums hold at most \(PackedLinear.int8MaxInFeatures) inputs): use --precision bf16 or fp32")
        }
        engine = BertEngine(weights: weights, precision: precision)
        tokenizer = try BertTokenizer(directory: directory)
        kind = weights.classifier != nil ? .crossEncoder : .dualEncoder
        (defaultPooling, normalizes) = try TextEncoder.readSentenceTransformersModules(directory)
        if tokenizer.vocabularySize > weights.config.vocabSize {
            throw ModelError.badConfig(file: directory.appendingPathComponent("config.json").path,
                                       reason: "tokenizer has \(tokenizer.vocabularySize) tokens but vocab_size is \(weights.config.vocabSize)")
        }
    }

    static func readSentenceTransformersModules(_ dir: URL) throws -> (Pooling, Bool) {
        var pooling = Pooling.mean
        var normalize = false
        let modulesPath = dir.appendingPathComponent("modules.json").path
        var poolingDir = "1_Pooling"
        if let data = FileManager.default.contents(atPath: modulesPath) {
            guard let modules = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else {
                throw ModelError.badConfig(file: modulesPath, reason: "expected a JSON array of modules")
            }
            for m in modules {
                let type = m["type"] as? String ?? ""
                if type.hasSuffix("Normalize") { normalize = true }
                if type.hasSuffix("Pooling"), let p = m["path"] as? String { poolingDir = p }
            }
        }
        let poolPath = dir.appendingPathComponent(poolingDir).appendingPathComponent("config.json").path
        if let data = FileManager.default.contents(atPath: poolPath) {
            guard let cfg = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw ModelError.badConfig(file: poolPath, reason: "not a JSON object")
            }
            if cfg["pooling_mode_cls_token"] as? Bool == true { pooling = .cls }
            else if cfg["pooling_mode_max_tokens"] as? Bool == true { pooling = .max }
            else if cfg["pooling_mode_mean_tokens"] as? Bool == true { pooling = .mean }
            else { throw ModelError.badConfig(file: poolPath, reason: "no supported pooling mode (mean, cls, max) is enabled") }
        }
        return (pooling, normalize)
    }

    /// Tokenises a text the way this model embeds it: plain for a DE, paired with itself
    /// ([CLS] s [SEP] s [SEP]) for a CE.
    public func encodeForEmbedding(_ text: String) -> Encoding {
        kind == .crossEncoder ? tokenizer.encodePair(text, text) : tokenizer.encode(text)
    }

    /// Embeddings of `texts`, [n, H].
    /// - Parameters:
    ///   - layer: nil for the model's final embedding (its own pooling and normalisation), or
    ///     0...N for layer-k embeddings (mean pooling, unnormalised unless asked).
    ///   - pooling / normalize: override the defaults above.
    /// A DE pools over all tokens of the text including [CLS]/[SEP] (sentence-transformers);
    /// a CE pools over the self-pair's text tokens, leaving out the special tokens.
    public func embed(_ texts: [String], layer: Int? = nil, pooling: Pooling? = nil, normalize: Bool? = nil,
                      progress: ((Int, Int) -> Void)? = nil) throws -> Matrix {
        let k = layer ?? numLayers
        guard (0...numLayers).contains(k) else {
            throw ModelError.invalidInput("layer \(k) is out of range: this model has layers 0...\(numLayers)")
        }
        let mode = pooling ?? (layer == nil ? defaultPooling : .mean)
        var m = embedLayers(texts, layers: [k], pooling: mode, progress: progress)[0]
        if normalize ?? (layer == nil ? normalizes : false) { normalizeRows(&m.data, rows: m.rows, cols: m.cols) }
        return m
    }

    /// Layer-k embeddings for every layer 0...N from one forward pass per text; element k is [n, H].
    public func embedAllLayers(_ texts: [String], pooling: Pooling = .mean, normalize: Bool = false,
                               progress: ((Int, Int) -> Void)? = nil) throws -> [Matrix] {
        var all = embedLayers(texts, layers: Array(0...numLayers), pooling: pooling, progress: progress)
        if normalize { for i in all.indices { normalizeRows(&all[i].data, rows: all[i].rows, cols: all[i].cols) } }
        return all
    }

    /// Cross-encoder relevance scores of (query, passage) pairs: the raw logit, or its sigmoid.
    public func score(_ pairs: [(String, String)], sigmoid: Bool = false, progress: ((Int, Int) -> Void)? = nil) throws -> [Float] {
        guard kind == .crossEncoder, let labels = engine.classifierOutputs else {
            throw ModelError.invalidInput("\(directory.path) is a dual encoder (no classifier head): it cannot score pairs")
        }
        guard labels == 1 else {
            throw ModelError.invalidInput("\(directory.path) has \(labels) labels; relevance scoring needs a cross encoder with one logit")
        }
        let encodings = pairs.map { tokenizer.encodePair($0.0, $0.1) }
        var scores = [Float](repeating: 0, count: pairs.count)
        let n = numLayers
        runBatches(encodings, layers: [n], progress: progress) { _, hidden, batch, members in
            let logits = engine.classify(hidden, batch: batch)
            for (b, idx) in members.enumerated() { scores[idx] = logits[b] }
        }
        if sigmoid { for i in scores.indices { scores[i] = 1 / (1 + expf(-scores[i])) } }
        return scores
    }

    private func embedLayers(_ texts: [String], layers: [Int], pooling: Pooling, progress: ((Int, Int) -> Void)?) -> [Matrix] {
        let h = dimension
        let encodings = texts.map(encodeForEmbedding)
        var out = layers.map { _ in Matrix(rows: texts.count, cols: h) }
        let slot = Dictionary(uniqueKeysWithValues: layers.enumerated().map { ($1, $0) })
        let textOnly = kind == .crossEncoder
        runBatches(encodings, layers: Set(layers), progress: progress) { layer, hidden, batch, members in
            out[slot[layer]!].data.withUnsafeMutableBufferPointer { op in
                for (b, idx) in members.enumerated() {
                    let enc = encodings[idx]
                    let include = (0..<enc.ids.count).map { textOnly ? enc.specialTokensMask[$0] == 0 : true }
                    pool(hidden + batch.offsets[b] * h, hiddenSize: h, include: include, mode: pooling, into: op.baseAddress! + idx * h)
                }
            }
        }
        return out
    }

    /// Length-sorted batching: longest first, at most `batchSize` sequences and `maxBatchTokens` (B x longest).
    private func runBatches(_ encodings: [Encoding], layers: Set<Int>, progress: ((Int, Int) -> Void)?,
                            body: (Int, UnsafePointer<Float>, PackedBatch, [Int]) -> Void) {
        let order = encodings.indices.sorted { a, b in
            let (la, lb) = (encodings[a].ids.count, encodings[b].ids.count)
            return la != lb ? la > lb : a < b
        }
        var start = 0
        while start < order.count {
            let longest = max(1, encodings[order[start]].ids.count)
            let cap = max(1, min(batchSize, maxBatchTokens / longest))
            let members = Array(order[start..<min(order.count, start + cap)])
            let batch = PackedBatch(members.map { (ids: encodings[$0].ids, types: encodings[$0].typeIds) })
            engine.forward(batch, layers: layers) { layer, hidden in body(layer, hidden, batch, members) }
            start += members.count
            progress?(start, order.count)
        }
    }
}
