import Foundation
import Wire

/// A bounded cache of embeddings keyed by (model, the text's UTF-8 bytes), for the coordinator's query encoder:
/// a query asked again (a popular search, a client retrying) skips the forward pass. Two
/// generations approximate least-recently-used at O(1) a call: lookups and inserts go to the
/// current generation; a hit in the previous one moves the entry forward; when the current one
/// holds `capacity / 2` entries it becomes the previous one (the old previous is dropped). So at
/// most `capacity` entries are held, and an entry used within the last `capacity / 2` distinct
/// texts is always kept. Thread-safe. A cached row is the one an earlier forward pass gave the
/// text, within float rounding of what a pass with other texts would give (batch composition).
/// The key is the text's bytes, not a `String`: Swift's `String` equality treats canonically
/// equivalent texts (NFC "café" and NFD "cafe" + U+0301) as equal, but the tokenizer reads bytes,
/// so the two may embed differently. Texts longer than `maxTextBytes` are not cached (their
/// forward pass dwarfs a lookup), so memory is bounded by capacity x (maxTextBytes + a row)
/// however long the queries are.
public final class EmbeddingCache: @unchecked Sendable {
    struct Key: Hashable { var model: String; var text: [UInt8] }
    /// `--query-cache`'s default: 10,000 entries (all-MiniLM-L6-v2: 384 floats, 1.5 KB a row; at
    /// most about 35 MB with texts of `maxTextBytes`, about 15 MB with short queries).
    public static let defaultCapacity = 10_000
    /// The longest text (UTF-8 bytes) that is cached.
    public static let maxTextBytes = 2048
    /// Most entries held (0: caching off).
    public let capacity: Int
    private let lock = NSLock()
    private var current: [Key: [Float]] = [:]
    private var previous: [Key: [Float]] = [:]
    /// Texts answered from the cache, and texts that needed a forward pass (metrics).
    public var hits: Int { lock.lock(); defer { lock.unlock() }; return hitCount }
    public var misses: Int { lock.lock(); defer { lock.unlock() }; return missCount }
    private var hitCount = 0
    private var missCount = 0

    public init(capacity: Int) { self.capacity = max(0, capacity) }

    /// Entries held now.
    public var count: Int { lock.lock(); defer { lock.unlock() }; return current.count + previous.count }

    /// The cached row of `text` under `model`, or nil (counted as a hit or a miss).
    public func lookup(_ model: String, _ text: String) -> [Float]? {
        lock.lock(); defer { lock.unlock() }
        guard capacity > 0, text.utf8.count <= Self.maxTextBytes else { missCount += 1; return nil }
        let k = Key(model: model, text: Array(text.utf8))
        if let v = current[k] { hitCount += 1; return v }
        if let v = previous.removeValue(forKey: k) { hitCount += 1; insertLocked(k, v); return v }
        missCount += 1
        return nil
    }

    /// Remembers `row` as the embedding of `text` under `model`.
    public func insert(_ model: String, _ text: String, _ row: [Float]) {
        lock.lock(); defer { lock.unlock() }
        guard capacity > 0, text.utf8.count <= Self.maxTextBytes else { return }
        insertLocked(Key(model: model, text: Array(text.utf8)), row)
    }

    private func insertLocked(_ k: Key, _ v: [Float]) {
        if current[k] == nil && current.count >= max(1, capacity / 2) {
            previous = current
            current = [:]
        }
        current[k] = v
    }
}

/// An engine that answers `embed` and `embedServing` from an `EmbeddingCache` where it can and
/// computes only the texts it has not seen (in one call to `inner`, in their order). Everything
/// else goes to `inner` unchanged.
public final class CachingEngine: InferenceEngine {
    public let inner: InferenceEngine
    public let cache: EmbeddingCache
    public init(_ inner: InferenceEngine, cache: EmbeddingCache) { self.inner = inner; self.cache = cache }

    /// Rows of `texts`: cached ones from the cache, the others from `compute` (called once, with
    /// the missing texts in order, or not at all), which are then cached.
    private func cached(_ model: String, _ texts: [String], _ compute: ([String]) throws -> Vectors) throws -> Vectors {
        guard cache.capacity > 0 else { return try compute(texts) }
        var rows: [[Float]?] = texts.map { cache.lookup(model, $0) }
        let missing = rows.indices.filter { rows[$0] == nil }
        if missing.count == texts.count { // nothing cached: no copying
            let v = try compute(texts)
            for (i, t) in texts.enumerated() { cache.insert(model, t, Array(v.data[i * v.dimension..<(i + 1) * v.dimension])) }
            return v
        }
        var dim = rows.first { $0 != nil }!!.count
        if !missing.isEmpty {
            let v = try compute(missing.map { texts[$0] })
            dim = v.dimension
            for (j, i) in missing.enumerated() {
                let row = Array(v.data[j * dim..<(j + 1) * dim])
                rows[i] = row
                cache.insert(model, texts[i], row)
            }
        }
        var data: [Float] = []
        data.reserveCapacity(texts.count * dim)
        for r in rows { data += r! }
        return Vectors(rows: texts.count, dimension: dim, data: data)
    }

    public func embed(model: String, texts: [String]) throws -> Vectors {
        try cached(model, texts) { try inner.embed(model: model, texts: $0) }
    }
    public func embedServing(model: String, texts: [String], maxBatchTokens: Int) throws -> Vectors {
        try cached(model, texts) { try inner.embedServing(model: model, texts: $0, maxBatchTokens: maxBatchTokens) }
    }

    public func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool) { try inner.loadModel(name: name, path: path) }
    public func loadModel(name: String, path: String, embedLayer: Int?) throws -> (dimension: Int, crossEncoder: Bool) {
        try inner.loadModel(name: name, path: path, embedLayer: embedLayer)
    }
    public func score(model: String, query: String, passages: [String]) throws -> [Float] { try inner.score(model: model, query: query, passages: passages) }
    public func tokenCount(model: String, text: String) -> Int { inner.tokenCount(model: model, text: text) }
    public func pairTokenCount(model: String, query: String, passage: String) -> Int { inner.pairTokenCount(model: model, query: query, passage: passage) }
    public func scoreServing(model: String, pairs: [(query: String, passage: String)], maxBatchTokens: Int) throws -> [Float] {
        try inner.scoreServing(model: model, pairs: pairs, maxBatchTokens: maxBatchTokens)
    }
    public func embedPlan(model: String, texts: [String]) -> [[Int]] { inner.embedPlan(model: model, texts: texts) }
    public var precisionName: String { inner.precisionName }
}
