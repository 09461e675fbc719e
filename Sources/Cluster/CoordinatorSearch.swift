import Index
import Wire

/// Scatter-gather search: embed the query once, one live replica per shard, exact merge,
/// optional CE re-rank of the global top-N spread over workers, merge again. Here the worker
/// choice and the requests; each search's own state and its answer are `SearchState`'s.
extension Coordinator {
    /// Longest deadline a client may ask for, seconds.
    static let maxDeadline = ProtocolConstants.maxClientDeadline

    /// Why a search request is refused (INVALID_ARGUMENT), or nil: the caps keep one request from
    /// holding the workers (`--max-top-k`, `--max-rerank`).
    func invalidSearch(_ m: SearchRequest) -> String? {
        if m.query.isEmpty { return "the query is empty" }
        if m.query.utf8.contains(0) { return "the query contains a NUL byte" }
        if let why = Self.topKOutOfRange(m.topK, maxTopK: config.maxTopK) { return why }
        if m.rerank && rerankDepth(m) > config.maxRerank {
            return "re-rank depth \(rerankDepth(m)) (rerank_top, or top_k when larger than the default) is over \(config.maxRerank) "
                + "(this coordinator's --max-rerank)"
        }
        if m.rerankTop > ProtocolConstants.maxTopKLimit { return "rerank_top = \(m.rerankTop) is over \(ProtocolConstants.maxTopKLimit)" }
        return nil
    }

    mutating func startSearch(_ client: Peer, _ env: Envelope, _ m: SearchRequest, _ now: Double, _ out: inout [CoordinatorAction]) {
        if let why = invalidSearch(m) {
            fail(client, env.requestID, RPCStatus(.invalidArgument, why), &out); return
        }
        guard config.deModel != nil, !corpus.isEmpty else {
            fail(client, env.requestID, RPCStatus(.failedPrecondition, "this coordinator serves no corpus"), &out); return
        }
        if m.rerank && config.ceModel == nil {
            fail(client, env.requestID, RPCStatus(.failedPrecondition, "re-ranking asked but no cross encoder is configured"), &out); return
        }
        // The client's deadline (gRPC semantics), capped; the default when it gives none.
        var deadline = now + config.searchDeadline
        if env.deadlineUnixMs > 0 { deadline = min(now + Self.maxDeadline, Double(env.deadlineUnixMs) / 1000) }
        guard deadline > now else {
            fail(client, env.requestID, RPCStatus(.deadlineExceeded, "deadline already passed"), &out); return
        }
        let sid = nextID; nextID += 1
        searches[sid] = SearchState(client: client, clientRequestID: env.requestID, request: m, start: now, deadline: deadline)
        embedQuery(sid, now, &out)
    }

    /// A live worker with `model` loaded, not in `tried`, chosen round-robin.
    mutating func pick(_ candidates: [Peer], tried: Set<Peer>) -> Peer? {
        let c = candidates.filter { !tried.contains($0) }
        guard !c.isEmpty else { return nil }
        roundRobin &+= 1
        return c[roundRobin % c.count]
    }

    /// Usable workers (live, not suspect) with model `name` loaded; leaving workers only when no
    /// other has the model (`servingWorkers(withModel:)`).
    func withModel(_ name: String) -> [Peer] { servingWorkers(withModel: name).filter { usable($0) } }

    /// Sends the query embedding to a worker not yet tried. With none left it fails the search,
    /// unless an earlier try is still in flight (or this is a `hedge`: then the first try goes on).
    mutating func embedQuery(_ sid: UInt64, _ now: Double, _ out: inout [CoordinatorAction], hedge: Bool = false) {
        guard var s = searches[sid], s.phase == .embedding else { return }
        guard let w = localEncoder(untried: s.triedEmbed) ?? pickLeastBusy(withModel(ProtocolConstants.deModelName), tried: s.triedEmbed) else {
            if hedge || inFlight({ $0 == .embedQuery(search: sid) }) { return }
            finishSearch(sid, status: RPCStatus(.unavailable, "no live worker can embed the query"), now, &out); return
        }
        s.triedEmbed.insert(w)
        searches[sid] = s
        send(w, .embedBatchRequest(EmbedBatchRequest(model: ProtocolConstants.deModelName, texts: [s.request.query])),
             .embedQuery(search: sid), now, &out, deadline: s.deadline)
    }

    mutating func queryEmbedded(_ sid: UInt64, _ q: [Float], _ now: Double, _ out: inout [CoordinatorAction]) {
        guard searches[sid]?.phase == .embedding else { return }
        searches[sid]!.embedded(q, shards: Array(shardMap.shards.indices), now: now)
        for shard in shardMap.shards.indices { searchShard(sid, shard, now, &out) }
        if searches[sid]?.pendingShards.isEmpty == true { afterShards(sid, now, &out) }
    }

    /// Sends (or re-sends) a shard's search to a usable ready replica not yet tried. With none
    /// left the shard is missing, unless an earlier try is still in flight (or this is a `hedge`).
    mutating func searchShard(_ sid: UInt64, _ shard: Int, _ now: Double, _ out: inout [CoordinatorAction], hedge: Bool = false) {
        guard var s = searches[sid], s.phase == .searching, s.pendingShards.contains(shard) else { return }
        let replicas = shardMap.readyReplicas(shard).filter(usable)
        if let w = pick(replicas, tried: s.triedShard[shard, default: []]) {
            s.triedShard[shard, default: []].insert(w)
            searches[sid] = s
            send(w, .searchShardRequest(SearchShardRequest(shardID: shard, k: s.depth, query: s.query)), .searchShard(search: sid, shard: shard), now, &out, deadline: s.deadline)
        } else if !hedge && !inFlight({ $0 == .searchShard(search: sid, shard: shard) }) {
            s.shardMissing(shard)
            searches[sid] = s
            if s.pendingShards.isEmpty { afterShards(sid, now, &out) }
        }
    }

    func rerankDepth(_ r: SearchRequest) -> Int { SearchState.rerankDepth(r) }

    mutating func shardAnswered(_ sid: UInt64, _ shard: Int, _ from: Peer, _ hits: [Hit], _ now: Double, _ out: inout [CoordinatorAction]) {
        guard var s = searches[sid] else { return }
        // A worker's hits are checked before anything indexes the corpus with them: the document
        // must lie in the shard and carry the corpus's id. Anything else is dropped and logged.
        let range = shardMap.shards[shard].range
        guard let bad = s.shardAnswered(shard, hits: hits, range: range, corpus: corpus) else { return }
        if !bad.isEmpty {
            out.append(.log("search \(sid): dropped \(bad.count) invalid hit(s) from \(from) for shard \(shard) (documents \(range)): "
                            + bad.prefix(3).map { "\($0.docIndex) '\($0.docID)'" }.joined(separator: ", ")))
        }
        searches[sid] = s
        if s.pendingShards.isEmpty { afterShards(sid, now, &out) }
    }

    /// Every shard answered or is missing: merge, then re-rank or reply.
    mutating func afterShards(_ sid: UInt64, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard var s = searches[sid] else { return }
        s.mergeShards(now: now)
        let ce = withModel(ProtocolConstants.ceModelName)
        guard s.request.rerank, !s.candidates.isEmpty, !ce.isEmpty else {
            searches[sid] = s
            finishSearch(sid, status: .ok, rerankFailed: s.request.rerank && !s.candidates.isEmpty, now, &out); return
        }
        s.startRerank(workers: ce.count, now: now)
        searches[sid] = s
        for p in s.rerankParts.indices { sendRerank(sid, p, now, &out) }
    }

    mutating func sendRerank(_ sid: UInt64, _ part: Int, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard var s = searches[sid], s.phase == .reranking, s.rerankScores[part] == nil else { return }
        guard let w = pick(withModel(ProtocolConstants.ceModelName), tried: s.rerankTried[part, default: []]) else {
            finishSearch(sid, status: .ok, rerankFailed: true, now, &out); return
        }
        s.rerankTried[part, default: []].insert(w)
        searches[sid] = s
        send(w, .rerankRequest(RerankRequest(model: ProtocolConstants.ceModelName, query: s.request.query, passages: s.passages(part, corpus: corpus))),
             .rerank(search: sid, part: part), now, &out, deadline: s.deadline)
    }

    mutating func rerankAnswered(_ o: Outstanding, _ sid: UInt64, _ part: Int, _ scores: [Float], _ now: Double, _ out: inout [CoordinatorAction]) {
        guard var s = searches[sid], s.phase == .reranking else { return }
        if let why = s.rerankAnswered(part, scores: scores) {
            requestFailed(o, RPCStatus(.internalError, why), now, &out); return
        }
        searches[sid] = s
        if s.rerankComplete { finishSearch(sid, status: .ok, now, &out) }
    }

    mutating func searchDeadline(_ sid: UInt64, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard var s = searches[sid] else { return }
        switch s.phase {
        case .embedding:
            finishSearch(sid, status: RPCStatus(.deadlineExceeded, "the query was not embedded before the deadline"), now, &out)
        case .searching:
            out.append(.log("search \(sid): deadline with shards \(s.pendingShards.sorted()) unanswered: partial result"))
            s.shardsTimedOut()
            searches[sid] = s
            afterShards(sid, now, &out)
        case .reranking:
            finishSearch(sid, status: .ok, rerankFailed: true, now, &out)
        }
    }

    /// Replies to the client and forgets the search. With `rerankFailed` the first-stage ranking
    /// is returned, flagged partial.
    mutating func finishSearch(_ sid: UInt64, status: RPCStatus, rerankFailed: Bool = false, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard let s = searches.removeValue(forKey: sid) else { return }
        for (id, o) in outstanding {
            switch o.purpose {
            case .embedQuery(sid), .searchShard(sid, _), .rerank(sid, _): outstanding[id] = nil
            default: break
            }
        }
        guard status.code == .ok else { fail(s.client, s.clientRequestID, status, &out); return }
        let answer = s.reply(rerankFailed: rerankFailed, now: now, corpus: corpus)
        reply(s.client, s.clientRequestID, .searchReply(answer), &out)
    }
}
