import Index
import Wire

/// The workers a search may use now, as the coordinator's other parts see them (Membership:
/// live and not suspect; Placement: ready replicas; loaded models). The query's embedder is not
/// here: it is the serving calls' choice (the coordinator's own encoder, else the least busy
/// worker with the model), made by the coordinator when the Search part asks (`chooseEmbedder`).
public struct SearchWorkers: Sendable {
    /// Usable ready replicas of each shard, by shard id.
    public var replicas: [[Peer]]
    /// Usable workers with the cross encoder loaded.
    public var rerankers: [Peer]

    public init(replicas: [[Peer]], rerankers: [Peer]) { self.replicas = replicas; self.rerankers = rerankers }
}

/// The Search part of the coordinator, pure: every search in flight (`SearchState`), and for each
/// its tries on the workers: which replica of a shard (or which CE worker for a re-rank part) is
/// asked, a second replica when the first is slower than the per-try budget (hedging, the first
/// answer wins), another one at once when a try fails or its worker's connection drops
/// (failover), the partial answer at the deadline. Events come in as method calls with the
/// workers usable now (`SearchWorkers`) and the shared table of requests in flight
/// (`RequestTable`, where each try is recorded and from which a finished search's tries are
/// removed, so their late replies are ignored); what the shell must do comes out as directives.
public struct Searches: Sendable {
    public enum Directive: Equatable, Sendable {
        /// Send `body` to `to` as request `requestID` (already in the request table).
        case send(to: Peer, requestID: UInt64, Body, deadline: Double)
        /// Choose a worker to embed search `search`'s query, not one it tried, and call `embed`
        /// (with `hedge`: a second try beside a slow first one).
        case chooseEmbedder(search: UInt64, hedge: Bool)
        /// Answer the client.
        case reply(to: Peer, requestID: UInt64, SearchReply)
        case fail(to: Peer, requestID: UInt64, RPCStatus)
        case log(String)
    }

    /// The served corpus (global document index = position) and each shard's document range.
    public let corpus: [Document]
    public let shardRanges: [Range<Int>]
    /// Seconds a query embedding or shard search may go unanswered before another replica is asked too.
    public let tryBudget: Double
    /// Searches in flight, by search id.
    public internal(set) var searches: [UInt64: SearchState] = [:]
    var roundRobin = 0

    public init(corpus: [Document], shardRanges: [Range<Int>], tryBudget: Double) {
        self.corpus = corpus; self.shardRanges = shardRanges; self.tryBudget = tryBudget
    }

    /// A new search `sid` (the client's request already checked): its query must be embedded.
    public mutating func start(_ sid: UInt64, client: Peer, requestID: UInt64, _ m: SearchRequest, now: Double, deadline: Double) -> [Directive] {
        searches[sid] = SearchState(client: client, clientRequestID: requestID, request: m, start: now, deadline: deadline)
        return [.chooseEmbedder(search: sid, hedge: false)]
    }

    /// Workers that already tried to embed search `sid`'s query.
    public func triedEmbed(_ sid: UInt64) -> Set<Peer> { searches[sid]?.triedEmbed ?? [] }

    /// True while search `sid` waits for its query's embedding.
    public func embedding(_ sid: UInt64) -> Bool { searches[sid]?.phase == .embedding }

    /// Sends the query embedding to `worker` (the coordinator's choice). With none, the search
    /// fails, unless an earlier try is still in flight (or this is a `hedge`: the first goes on).
    public mutating func embed(_ sid: UInt64, worker: Peer?, hedge: Bool, now: Double, _ requests: inout RequestTable) -> [Directive] {
        guard var s = searches[sid], s.phase == .embedding else { return [] }
        guard let w = worker else {
            if hedge || requests.contains(where: { $0 == .embedQuery(search: sid) }) { return [] }
            return finish(sid, status: RPCStatus(.unavailable, "no live worker can embed the query"), now: now, &requests)
        }
        s.triedEmbed.insert(w)
        searches[sid] = s
        return [send(w, .embedBatchRequest(EmbedBatchRequest(model: ProtocolConstants.deModelName, texts: [s.request.query])),
                     .embedQuery(search: sid), s.deadline, now, &requests)]
    }

    /// The query's vector came back: every shard is searched.
    public mutating func queryEmbedded(_ sid: UInt64, _ q: [Float], _ w: SearchWorkers, now: Double, _ requests: inout RequestTable) -> [Directive] {
        guard searches[sid]?.phase == .embedding else { return [] }
        searches[sid]!.embedded(q, shards: Array(shardRanges.indices), now: now)
        var out: [Directive] = []
        for shard in shardRanges.indices { out += searchShard(sid, shard, w, hedge: false, now: now, &requests) }
        if searches[sid]?.pendingShards.isEmpty == true { out += afterShards(sid, w, now: now, &requests) }
        return out
    }

    /// Sends (or re-sends) a shard's search to a usable ready replica not yet tried. With none
    /// left the shard is missing, unless an earlier try is still in flight (or this is a `hedge`).
    public mutating func searchShard(_ sid: UInt64, _ shard: Int, _ w: SearchWorkers, hedge: Bool, now: Double, _ requests: inout RequestTable) -> [Directive] {
        guard var s = searches[sid], s.phase == .searching, s.pendingShards.contains(shard) else { return [] }
        if let r = pick(w.replicas[shard], tried: s.triedShard[shard, default: []]) {
            s.triedShard[shard, default: []].insert(r)
            searches[sid] = s
            return [send(r, .searchShardRequest(SearchShardRequest(shardID: shard, k: s.depth, query: s.query)),
                         .searchShard(search: sid, shard: shard), s.deadline, now, &requests)]
        }
        guard !hedge, !requests.contains(where: { $0 == .searchShard(search: sid, shard: shard) }) else { return [] }
        s.shardMissing(shard)
        searches[sid] = s
        return s.pendingShards.isEmpty ? afterShards(sid, w, now: now, &requests) : []
    }

    /// A replica answered a shard. Its hits are checked before anything indexes the corpus with
    /// them: the document must lie in the shard and carry the corpus's id; anything else is
    /// dropped and logged. A second answer for the shard (a hedge's) is ignored.
    public mutating func shardAnswered(_ sid: UInt64, _ shard: Int, from: Peer, _ hits: [Hit], _ w: SearchWorkers, now: Double,
                                _ requests: inout RequestTable) -> [Directive] {
        guard var s = searches[sid], shardRanges.indices.contains(shard) else { return [] }
        let range = shardRanges[shard]
        guard let bad = s.shardAnswered(shard, hits: hits, range: range, corpus: corpus) else { return [] }
        var out: [Directive] = []
        if !bad.isEmpty {
            out.append(.log("search \(sid): dropped \(bad.count) invalid hit(s) from \(from) for shard \(shard) (documents \(range)): "
                            + bad.prefix(3).map { "\($0.docIndex) '\($0.docID)'" }.joined(separator: ", ")))
        }
        searches[sid] = s
        if s.pendingShards.isEmpty { out += afterShards(sid, w, now: now, &requests) }
        return out
    }

    /// Every shard answered or is missing: merge, then re-rank (the candidates split over the
    /// CE workers) or reply.
    public mutating func afterShards(_ sid: UInt64, _ w: SearchWorkers, now: Double, _ requests: inout RequestTable) -> [Directive] {
        guard var s = searches[sid] else { return [] }
        s.mergeShards(now: now)
        guard s.request.rerank, !s.candidates.isEmpty, !w.rerankers.isEmpty else {
            searches[sid] = s
            return finish(sid, status: .ok, rerankFailed: s.request.rerank && !s.candidates.isEmpty, now: now, &requests)
        }
        s.startRerank(workers: w.rerankers.count, now: now)
        searches[sid] = s
        var out: [Directive] = []
        for p in s.rerankParts.indices { out += sendRerank(sid, p, w, now: now, &requests) }
        return out
    }

    /// Sends (or re-sends) re-rank part `part` to a CE worker not yet tried for it. With none
    /// left the first-stage ranking is the answer, flagged partial.
    public mutating func sendRerank(_ sid: UInt64, _ part: Int, _ w: SearchWorkers, now: Double, _ requests: inout RequestTable) -> [Directive] {
        guard var s = searches[sid], s.phase == .reranking, s.rerankScores[part] == nil else { return [] }
        guard let r = pick(w.rerankers, tried: s.rerankTried[part, default: []]) else {
            return finish(sid, status: .ok, rerankFailed: true, now: now, &requests)
        }
        s.rerankTried[part, default: []].insert(r)
        searches[sid] = s
        return [send(r, .rerankRequest(RerankRequest(model: ProtocolConstants.ceModelName, query: s.request.query, passages: s.passages(part, corpus: corpus))),
                     .rerank(search: sid, part: part), s.deadline, now, &requests)]
    }

    /// A CE worker's scores for a part; a wrong count is a failed try (another worker is asked).
    public mutating func rerankAnswered(_ sid: UInt64, _ part: Int, from: Peer, _ scores: [Float], _ w: SearchWorkers, now: Double,
                                 _ requests: inout RequestTable) -> [Directive] {
        guard var s = searches[sid], s.phase == .reranking else { return [] }
        if let why = s.rerankAnswered(part, scores: scores) {
            return [.log("request \(Purpose.rerank(search: sid, part: part)) to \(from) failed: \(why)")] + sendRerank(sid, part, w, now: now, &requests)
        }
        searches[sid] = s
        return s.rerankComplete ? finish(sid, status: .ok, now: now, &requests) : []
    }

    /// A try failed (an error reply, or its worker died or its connection dropped): the same work
    /// goes to another worker now.
    public mutating func tryFailed(_ p: Purpose, _ w: SearchWorkers, now: Double, _ requests: inout RequestTable) -> [Directive] {
        switch p {
        case .embedQuery(let sid): return embedding(sid) ? [.chooseEmbedder(search: sid, hedge: false)] : []
        case .searchShard(let sid, let shard): return searchShard(sid, shard, w, hedge: false, now: now, &requests)
        case .rerank(let sid, let part): return sendRerank(sid, part, w, now: now, &requests)
        default: return []
        }
    }

    /// Time passes: each query embedding or shard search unanswered for more than the per-try
    /// budget is also sent to a usable replica not yet tried (once per try; none: keep waiting),
    /// then every search past its deadline is answered: the shards that did not answer are
    /// missing (a partial result); a query not embedded fails with DEADLINE_EXCEEDED.
    public mutating func tick(now: Double, _ w: SearchWorkers, _ requests: inout RequestTable) -> [Directive] {
        var out: [Directive] = []
        let slow = requests.slow(now: now, budget: tryBudget) {
            switch $0 { case .embedQuery, .searchShard: return true; default: return false }
        }
        for o in slow {
            switch o.purpose {
            case .embedQuery(let sid):
                out.append(.log("search \(sid): query embedding on \(o.worker) unanswered after \(tryBudget) s"))
                if embedding(sid) { out.append(.chooseEmbedder(search: sid, hedge: true)) }
            case .searchShard(let sid, let shard):
                out.append(.log("search \(sid): shard \(shard) on \(o.worker) unanswered after \(tryBudget) s"))
                out += searchShard(sid, shard, w, hedge: true, now: now, &requests)
            default:
                break
            }
        }
        for sid in searches.keys.sorted() where searches[sid]!.deadline <= now { out += deadline(sid, w, now: now, &requests) }
        return out
    }

    public mutating func deadline(_ sid: UInt64, _ w: SearchWorkers, now: Double, _ requests: inout RequestTable) -> [Directive] {
        guard var s = searches[sid] else { return [] }
        switch s.phase {
        case .embedding:
            return finish(sid, status: RPCStatus(.deadlineExceeded, "the query was not embedded before the deadline"), now: now, &requests)
        case .searching:
            let log = Directive.log("search \(sid): deadline with shards \(s.pendingShards.sorted()) unanswered: partial result")
            s.shardsTimedOut()
            searches[sid] = s
            return [log] + afterShards(sid, w, now: now, &requests)
        case .reranking:
            return finish(sid, status: .ok, rerankFailed: true, now: now, &requests)
        }
    }

    /// Answers the client and forgets the search and its tries in flight (their late replies are
    /// then ignored). With `rerankFailed` the first-stage ranking is returned, flagged partial.
    public mutating func finish(_ sid: UInt64, status: RPCStatus, rerankFailed: Bool = false, now: Double, _ requests: inout RequestTable) -> [Directive] {
        guard let s = searches.removeValue(forKey: sid) else { return [] }
        _ = requests.removeAll { $0.purpose.search == sid }
        guard status.code == .ok else { return [.fail(to: s.client, requestID: s.clientRequestID, status)] }
        return [.reply(to: s.client, requestID: s.clientRequestID, s.reply(rerankFailed: rerankFailed, now: now, corpus: corpus))]
    }

    /// A worker from `candidates` not in `tried`, round-robin.
    mutating func pick(_ candidates: [Peer], tried: Set<Peer>) -> Peer? {
        let c = candidates.filter { !tried.contains($0) }
        guard !c.isEmpty else { return nil }
        roundRobin &+= 1
        return c[roundRobin % c.count]
    }

    private func send(_ to: Peer, _ body: Body, _ p: Purpose, _ deadline: Double, _ now: Double, _ requests: inout RequestTable) -> Directive {
        let id = requests.newID()
        requests.sent(id, to: to, p, now: now)
        return .send(to: to, requestID: id, body, deadline: deadline)
    }
}
