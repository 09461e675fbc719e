import Foundation
import Model
import Wire

/// The serving side of `ModelEngine`: token counts from the model's own tokenizer, gathered
/// serving batches under a token budget, and the encoder's batch plan (so a job chunk can run
/// one forward pass at a time between serving requests and still be byte-identical).
extension ModelEngine {
    /// Sequences one serving forward pass may hold at most (the token budget usually binds first).
    static let servingBatchSequences = 256

    public func tokenCount(model: String, text: String) -> Int {
        guard let e = encoders[model] else { return 2 + text.utf8.count / 4 }
        return e.encodeForEmbedding(text).ids.count
    }

    public func pairTokenCount(model: String, query: String, passage: String) -> Int {
        guard let e = encoders[model] else { return 3 + (query.utf8.count + passage.utf8.count) / 4 }
        return e.tokenizer.encodePair(query, passage).ids.count
    }

    /// Runs `body` with the encoder's batch limits raised to one serving pass of `maxBatchTokens`
    /// padded tokens; the defaults (which job chunks rely on) are restored after. A worker runs one
    /// compute thread, so no other call sees the raised limits.
    func withServingLimits<T>(_ e: TextEncoder, _ maxBatchTokens: Int, _ body: () throws -> T) rethrows -> T {
        let (b, t) = (e.batchSize, e.maxBatchTokens)
        e.batchSize = Self.servingBatchSequences
        e.maxBatchTokens = max(1, maxBatchTokens)
        defer { e.batchSize = b; e.maxBatchTokens = t }
        return try body()
    }

    /// Loads `path` under `name`, sharing the encoder of another name loaded from the same
    /// directory (one CE for both stages: "de" with a layer, "ce" for scores, one model in memory).
    public func loadModel(name: String, path: String, embedLayer: Int?) throws -> (dimension: Int, crossEncoder: Bool) {
        if encoders[name] == nil {
            let dir = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
            if let shared = encoders.values.first(where: { $0.directory.resolvingSymlinksInPath().standardizedFileURL.path == dir }) {
                encoders[name] = shared
            } else {
                let loaded = try TextEncoder.load(path, precision: precision)
                loaded.engine.parallelism = parallelism
                encoders[name] = loaded
            }
        }
        let e = encoders[name]!
        if let k = embedLayer {
            guard (0...e.numLayers).contains(k) else {
                encoders[name] = nil
                throw EngineError(.invalidArgument, "layer \(k) is out of range: \(path) has layers 0...\(e.numLayers)")
            }
            embedLayers[name] = k
        }
        return (e.dimension, e.kind == .crossEncoder)
    }

    /// Distinct encoders in memory (shared ones counted once).
    public var encodersInMemory: Int { Set(encoders.values.map { ObjectIdentifier($0) }).count }

    public func embedServing(model: String, texts: [String], maxBatchTokens: Int) throws -> Vectors {
        let e = try encoder(model)
        let k = embedLayers[model]
        let m = try withServingLimits(e, maxBatchTokens) { try e.embed(texts, layer: k, normalize: k == nil ? nil : true) }
        return Vectors(rows: m.rows, dimension: m.cols, data: m.data)
    }

    public func scoreServing(model: String, pairs: [(query: String, passage: String)], maxBatchTokens: Int) throws -> [Float] {
        let e = try encoder(model)
        return try withServingLimits(e, maxBatchTokens) { try e.score(pairs.map { ($0.query, $0.passage) }) }
    }

    /// The encoder's own batching (TextEncoder.runBatches): longest first (ties by index), at most
    /// `batchSize` sequences and `maxBatchTokens` padded tokens per forward pass.
    public func embedPlan(model: String, texts: [String]) -> [[Int]] {
        guard let e = encoders[model] else { return texts.isEmpty ? [] : [Array(texts.indices)] }
        let lengths = texts.map { e.encodeForEmbedding($0).ids.count }
        let order = texts.indices.sorted { a, b in lengths[a] != lengths[b] ? lengths[a] > lengths[b] : a < b }
        var plan: [[Int]] = []
        var start = 0
        while start < order.count {
            let longest = max(1, lengths[order[start]])
            let cap = max(1, min(e.batchSize, e.maxBatchTokens / longest))
            plan.append(Array(order[start..<min(order.count, start + cap)]))
            start += cap
        }
        return plan
    }
}
