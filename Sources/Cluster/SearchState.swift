import Index
import Wire

/// Where a search is: embedding the query, waiting for the shards, or re-ranking.
public enum SearchPhase: Sendable, Equatable { case embedding, searching, reranking }

/// One client search, from query to reply: the Search part's state, pure. The Search part
/// (`Searches`) chooses the workers and records the tries (which replicas were tried), with
/// hedging and failover; what comes back is fed in here (`embedded`,
/// `shardAnswered`, `shardMissing`, `rerankAnswered`), and `reply` composes the answer: the shards'
/// hits checked against the corpus, merged by `TopK.merge`, re-ranked by the CE scores when asked,
/// and converted to wire hits only there.
public struct SearchState: Sendable {
    public let client: Peer
    public let clientRequestID: UInt64
    public internal(set) var request: SearchRequest
    public let start: Double
    public let deadline: Double
    public internal(set) var phase: SearchPhase = .embedding
    var triedEmbed: Set<Peer> = []
    public internal(set) var query: [Float] = []
    var embedMs = 0.0
    var searchStart = 0.0
    var searchMs = 0.0
    public internal(set) var pendingShards: Set<Int> = []
    var triedShard: [Int: Set<Peer>] = [:]
    public internal(set) var missing: Set<Int> = []
    /// Each answered shard's top hits, then their merge (global document indices).
    var shardHits: [[SearchHit]] = []
    public internal(set) var candidates: [SearchHit] = []
    var rerankStart = 0.0
    public internal(set) var rerankParts: [Range<Int>] = []
    var rerankScores: [Int: [Float]] = [:]
    var rerankTried: [Int: Set<Peer>] = [:]

    public init(client: Peer, clientRequestID: UInt64, request: SearchRequest, start: Double, deadline: Double) {
        self.client = client; self.clientRequestID = clientRequestID; self.request = request; self.start = start; self.deadline = deadline
    }

    /// Candidates a re-rank scores: `rerank_top`, or the default depth (at least top_k).
    public static func rerankDepth(_ r: SearchRequest) -> Int { r.rerankTop > 0 ? r.rerankTop : max(r.topK, ProtocolConstants.defaultRerankTop) }

    /// Hits asked of each shard and kept after the merge: top_k, or the re-rank depth when larger.
    public var depth: Int { request.rerank ? max(request.topK, Self.rerankDepth(request)) : request.topK }

    /// The query vector came back at `now`: the search waits for `shards`.
    public mutating func embedded(_ q: [Float], shards: [Int], now: Double) {
        guard phase == .embedding else { return }
        query = q
        embedMs = (now - start) * 1000
        phase = .searching
        searchStart = now
        pendingShards = Set(shards)
    }

    /// A shard's answer. Only hits of documents inside the shard's `range` that carry the corpus's
    /// id are kept (a worker's reply is checked before anything indexes the corpus with it).
    /// Returns nil for a late or repeated answer (nothing changes), else the hits dropped.
    public mutating func shardAnswered(_ shard: Int, hits: [Hit], range: Range<Int>, corpus: [Document]) -> [Hit]? {
        guard phase == .searching, pendingShards.remove(shard) != nil else { return nil }
        func valid(_ h: Hit) -> Bool { range.contains(h.docIndex) && corpus[h.docIndex].id == h.docID }
        shardHits.append(hits.filter(valid).map(\.searchHit))
        return hits.filter { !valid($0) }
    }

    /// A shard that no replica answered (none left to try, or the deadline passed).
    public mutating func shardMissing(_ shard: Int) {
        guard pendingShards.remove(shard) != nil else { return }
        missing.insert(shard)
    }

    /// The deadline passed while shards were pending: they are missing, and no re-rank is tried.
    public mutating func shardsTimedOut() {
        missing.formUnion(pendingShards)
        pendingShards = []
        request.rerank = false
    }

    /// Every shard answered or is missing: the global top `depth` at `now`.
    public mutating func mergeShards(now: Double) {
        searchMs = (now - searchStart) * 1000
        candidates = TopK.merge(shardHits, k: depth)
    }

    /// Splits the candidates into at most `workers` contiguous parts, one CE request each.
    public mutating func startRerank(workers: Int, now: Double) {
        phase = .reranking
        rerankStart = now
        let parts = min(workers, candidates.count)
        rerankParts = (0..<parts).map { (candidates.count * $0 / parts)..<(candidates.count * ($0 + 1) / parts) }
    }

    /// The documents of re-rank part `part`.
    public func passages(_ part: Int, corpus: [Document]) -> [Document] { candidates[rerankParts[part]].map { corpus[$0.index] } }

    /// A part's CE scores. Returns why they are refused (a count that does not match), or nil.
    public mutating func rerankAnswered(_ part: Int, scores: [Float]) -> String? {
        guard phase == .reranking, rerankParts.indices.contains(part) else { return nil }
        guard scores.count == rerankParts[part].count else { return "rerank returned \(scores.count) scores for \(rerankParts[part].count) passages" }
        rerankScores[part] = scores
        return nil
    }

    /// Every re-rank part has its scores.
    public var rerankComplete: Bool { phase == .reranking && rerankScores.count == rerankParts.count }

    /// The reply at `now`. Re-ranked: the CE scores, merged; the first-stage score of each hit
    /// alongside. Otherwise (or with `rerankFailed`: flagged partial) the first-stage top_k.
    public func reply(rerankFailed: Bool = false, now: Double, corpus: [Document]) -> SearchReply {
        var hits: [SearchHit]
        var rerankMs = 0.0
        var firstStage: [Float] = []
        if phase == .reranking && !rerankFailed {
            var rescored: [SearchHit] = []
            for (p, range) in rerankParts.enumerated() {
                for (j, i) in range.enumerated() {
                    var h = candidates[i]; h.score = rerankScores[p]![j]; rescored.append(h)
                }
            }
            hits = TopK.merge([rescored], k: request.topK)
            rerankMs = (now - rerankStart) * 1000
            let dense = Dictionary(candidates.map { ($0.index, $0.score) }, uniquingKeysWith: { a, _ in a })
            firstStage = hits.map { dense[$0.index] ?? .nan }
        } else {
            hits = Array(candidates.prefix(request.topK))
        }
        // The wire edge: each hit with its document's id.
        return SearchReply(hits: hits.map { $0.wire(id: corpus[$0.index].id) }, partial: !missing.isEmpty || rerankFailed,
                           missingShards: missing.sorted(), embedMs: embedMs, searchMs: searchMs, rerankMs: rerankMs,
                           totalMs: max(0, now - start) * 1000, firstStageScores: firstStage)
    }
}
