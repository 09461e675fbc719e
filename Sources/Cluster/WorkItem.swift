import Foundation
import Wire

/// A request a worker is computing and how far it got. Serving requests (query embedding, shard
/// search, re-rank, model loads) go in the serving lane; job chunks, shard indexing and shard
/// drops in the bulk lane. Embeddings and re-ranks advance by slices of their texts (several
/// requests' slices may share one forward pass); chunks and shard indexing by the engine's own
/// batches (`InferenceEngine.embedPlan`).
public final class WorkItem {
    public enum Lane: Sendable { case serving, bulk }
    enum Kind { case single, embed, rerank, planned }

    public let request: Envelope
    public let lane: Lane
    let kind: Kind
    let model: String
    /// embed: the texts; rerank: the passages; planned: the chunk's or the shard's texts.
    let texts: [String]
    /// rerank: the query every passage is paired with.
    let query: String
    /// Seconds since 1970 after which the answer is useless (0: none).
    public let deadline: Double

    /// embed / rerank: tokens of each text or pair (filled on the compute thread), texts done, and
    /// the results so far (embed: rows [next, dimension]; rerank: scores [next]).
    var tokens: [Int]?
    var next = 0
    var values: [Float] = []
    var dimension = 0
    /// planned: the engine's batch plan (nil until the first step), batches done, and the rows
    /// [texts.count, dimension] in text order.
    var plan: [[Int]]?
    var planNext = 0
    var rows: [Float] = []

    /// nil for messages that need no answer (heartbeats, stray replies).
    public init?(_ request: Envelope) {
        self.request = request
        deadline = request.deadlineUnixMs > 0 ? Double(request.deadlineUnixMs) / 1000 : 0
        var kind = Kind.single, lane = Lane.serving, model = "", texts: [String] = [], query = ""
        switch request.body {
        case .heartbeat, .registerReply, .error, .workerLeavingReply:
            return nil
        case .embedBatchRequest(let m):
            (kind, model, texts) = (.embed, m.model, m.texts)
        case .rerankRequest(let m):
            (kind, model, texts, query) = (.rerank, m.model, m.passages.map(\.text), m.query)
        case .embedChunkRequest(let m):
            (kind, lane, model, texts) = (.planned, .bulk, m.model, m.texts)
        case .assignShardRequest(let m):
            (kind, lane, model, texts) = (.planned, .bulk, m.model, m.documents.map(\.text))
        case .dropShardRequest:
            lane = .bulk
        default:
            break
        }
        self.kind = kind; self.lane = lane; self.model = model; self.texts = texts; self.query = query
    }

    /// True once `now` is past the request's deadline.
    public func expired(_ now: Double) -> Bool { deadline > 0 && now > deadline }

    /// Tokens of the texts not yet done (embed / rerank).
    var remainingTokens: Int { (tokens ?? []).dropFirst(next).reduce(0, +) }

    var done: Bool {
        switch kind {
        case .single: return false
        case .embed, .rerank: return tokens != nil && next == texts.count
        case .planned: return plan != nil && planNext == plan!.count
        }
    }

    /// Replies carry the request's id and, echoed, its coordinator incarnation (`Envelope.reply`).
    func ok(_ b: Body) -> Envelope { request.reply(b) }
    func fail(_ s: RPCStatus) -> Envelope { request.reply(.error(s), status: s) }
    func fail(_ error: Error) -> Envelope {
        if let e = error as? EngineError { return fail(RPCStatus(e.code, e.message)) }
        return fail(RPCStatus(.internalError, "\(error)"))
    }
    func deadlineExceeded(_ what: String) -> Envelope {
        fail(RPCStatus(.deadlineExceeded, "request \(request.requestID): deadline passed \(what)"))
    }
}

extension WorkItem {
    /// The next slice of an embed or re-rank request: texts from `next` while their tokens fit
    /// `budget` (at least one text).
    func slice(budget: Int) -> Range<Int> {
        guard let t = tokens, next < t.count else { return next..<next }
        var end = next, used = 0
        while end < t.count && (end == next || used + t[end] <= budget) { used += t[end]; end += 1 }
        return next..<end
    }
}
