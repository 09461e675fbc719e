import Index
import Wire

/// Scatter-gather search: embed the query once, one live replica per shard, exact merge,
/// optional CE re-rank of the global top-N spread over workers, merge again. Here the client's
/// request is checked, the query's embedder chosen (as for the serving calls), and the Search
/// part (`Searches`: replica choice, hedging, failover, deadlines) is given the workers usable
/// now; its directives become messages.
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
        let sid = requests.newID()
        perform(search.start(sid, client: client, requestID: env.requestID, m, now: now, deadline: deadline), now, &out)
    }

    /// Usable workers (live, not suspect) with model `name` loaded; leaving workers only when no
    /// other has the model (`servingWorkers(withModel:)`).
    func withModel(_ name: String) -> [Peer] { servingWorkers(withModel: name).filter { usable($0) } }

    /// The workers the Search part may use now: each shard's usable ready replicas, the usable
    /// CE workers.
    var searchWorkers: SearchWorkers {
        SearchWorkers(replicas: shardMap.shards.indices.map { shardMap.readyReplicas($0).filter(usable) },
                      rerankers: withModel(ProtocolConstants.ceModelName))
    }

    /// Chooses a worker not yet tried to embed the query (the coordinator's own encoder, else the
    /// least busy usable worker with the DE) and has the Search part send it. With none left the
    /// search fails, unless an earlier try is still in flight (or this is a `hedge`).
    mutating func embedQuery(_ sid: UInt64, _ now: Double, _ out: inout [CoordinatorAction], hedge: Bool = false) {
        guard let s = search.searches[sid], s.phase == .embedding else { return }
        let w = localEncoder(untried: s.triedEmbed) ?? pickLeastBusy(withModel(ProtocolConstants.deModelName), tried: s.triedEmbed)
        perform(search.embed(sid, worker: w, hedge: hedge, now: now, &requests), now, &out)
    }

    func rerankDepth(_ r: SearchRequest) -> Int { SearchState.rerankDepth(r) }

    /// Replies to the client and forgets the search. With `rerankFailed` the first-stage ranking
    /// is returned, flagged partial.
    mutating func finishSearch(_ sid: UInt64, status: RPCStatus, rerankFailed: Bool = false, _ now: Double, _ out: inout [CoordinatorAction]) {
        perform(search.finish(sid, status: status, rerankFailed: rerankFailed, now: now, &requests), now, &out)
    }

    /// Performs the Search part's directives: messages to workers (their requests are already in
    /// the table), answers to clients, and the choice of an embedder when it asks for one.
    mutating func perform(_ directives: [Searches.Directive], _ now: Double, _ out: inout [CoordinatorAction]) {
        for d in directives {
            switch d {
            case .send(let to, let id, let body, let deadline):
                membership.sent(to, now: now)
                out.append(.send(to: to, Envelope(requestID: id, deadlineUnixMs: Int64(deadline * 1000), body: body)))
            case .chooseEmbedder(let sid, let hedge):
                embedQuery(sid, now, &out, hedge: hedge)
            case .reply(let to, let id, let answer):
                reply(to, id, .searchReply(answer), &out)
            case .fail(let to, let id, let status):
                fail(to, id, status, &out)
            case .log(let line):
                out.append(.log(line))
            }
        }
    }
}
