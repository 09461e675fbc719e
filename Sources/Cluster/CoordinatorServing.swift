import Tokenizer
import Wire

/// Limits on client requests (HTTP and ZeroMQ alike), set from the coordinator's flags.
public struct ServingLimits: Sendable {
    /// Most texts in one embed or rerank request (TEI's `--max-client-batch-size`).
    public var maxClientBatch = ProtocolConstants.defaultMaxClientBatch
    /// Client requests (search, embed, rerank) in flight at once; past it a request is refused
    /// at once with RESOURCE_EXHAUSTED (HTTP 429).
    public var maxConcurrentRequests = ProtocolConstants.defaultMaxConcurrentRequests
    /// Truncate inputs over the model's max length even when the request does not ask to.
    public var autoTruncate = false
    /// Deadline of an embed or rerank request that carries none, seconds.
    public var defaultDeadline = ProtocolConstants.searchDeadline
    public init() {}
}

/// The coordinator's part of serving embed and rerank requests: limits, the tokenizers that
/// count tokens (nil when the model directory is not readable here: no length check, 0 tokens),
/// the calls in flight, and whether the coordinator is draining.
public struct ServingState: Sendable {
    public var limits = ServingLimits()
    public var deTokenizer: BertTokenizer?
    public var ceTokenizer: BertTokenizer?
    /// Set on SIGTERM: new client requests are refused with UNAVAILABLE.
    public internal(set) var draining = false
    /// The coordinator's own encoder of the DE (`CoordinatorServer.startLocalQueryEncoder`), a
    /// synthetic peer: query embeddings and embed calls go there first, so they never wait behind a
    /// worker's job batch (a worker that fails one is still tried after it). nil: workers embed.
    public internal(set) var localEncoder: Peer?
    var calls: [UInt64: ClientCall] = [:]
    public init() {}
}

enum ClientCallKind {
    case embed(EmbedTextsRequest)
    case rerank(RerankTextsRequest)
}

struct ClientCall {
    var client: Peer
    var clientRequestID: UInt64
    var kind: ClientCallKind
    var deadline: Double
    var promptTokens: Int
    var tried: Set<Peer> = []
}

extension Coordinator {
    /// Why `topK` is refused (INVALID_ARGUMENT, HTTP 400), or nil: one range for every route and
    /// client, 1...`maxTopK` (the coordinator's --max-top-k, itself at most `maxTopKLimit`).
    public static func topKOutOfRange(_ topK: Int, maxTopK: Int) -> String? {
        let maxK = min(maxTopK, ProtocolConstants.maxTopKLimit)
        return (1...maxK).contains(topK) ? nil : "top_k = \(topK) is not in 1...\(maxK) (this coordinator's --max-top-k)"
    }

    /// Client requests being answered now (searches, embeds, reranks).
    public var clientRequestsInFlight: Int { search.searches.count + serving.calls.count }

    /// Starts draining: from now on new client requests get UNAVAILABLE.
    public mutating func beginDrain() { serving.draining = true }

    /// Admits a client request or refuses it at once (draining: UNAVAILABLE; over
    /// `maxConcurrentRequests`: RESOURCE_EXHAUSTED). True when admitted.
    mutating func admitClient(_ client: Peer, _ requestID: UInt64, _ out: inout [CoordinatorAction]) -> Bool {
        if serving.draining {
            fail(client, requestID, RPCStatus(.unavailable, "the coordinator is shutting down"), &out); return false
        }
        if clientRequestsInFlight >= serving.limits.maxConcurrentRequests {
            fail(client, requestID, RPCStatus(.resourceExhausted,
                                              "overloaded: \(clientRequestsInFlight) requests in flight (--max-concurrent-requests \(serving.limits.maxConcurrentRequests))"), &out)
            return false
        }
        return true
    }

    /// The request's deadline: the client's (capped), else the default. Nil (and the client
    /// answered DEADLINE_EXCEEDED) when it has already passed: time spent queued counts.
    mutating func clientDeadline(_ client: Peer, _ env: Envelope, _ now: Double, _ out: inout [CoordinatorAction]) -> Double? {
        var deadline = now + serving.limits.defaultDeadline
        if env.deadlineUnixMs > 0 { deadline = min(now + Self.maxDeadline, Double(env.deadlineUnixMs) / 1000) }
        guard deadline > now else {
            fail(client, env.requestID, RPCStatus(.deadlineExceeded, "the deadline passed before the request was served"), &out); return nil
        }
        return deadline
    }

    /// Tokens of `text` as the DE embeds it (special tokens included), and whether it is over the max length.
    static func measure(_ tok: BertTokenizer?, _ text: String) -> (tokens: Int, over: Bool) {
        guard let tok else { return (0, false) }
        let n = tok.encode(text, maxLength: tok.maxLength + 1).ids.count
        return (min(n, tok.maxLength), n > tok.maxLength)
    }

    /// Tokens of the (query, text) pair as the CE scores it, and whether it is over the max length.
    static func measurePair(_ tok: BertTokenizer?, _ query: [Int32], _ text: String) -> (tokens: Int, over: Bool) {
        guard let tok else { return (0, false) }
        // [CLS] q [SEP] t [SEP]: the query's and the text's own encodings less one shared [CLS].
        let n = query.count + tok.encode(text, maxLength: tok.maxLength + 1).ids.count - 1
        return (min(n, tok.maxLength), n > tok.maxLength)
    }

    /// The prompt tokens of a client call's texts, or nil after failing the call: more texts than
    /// --max-client-batch, an empty text, a text with a NUL byte, or one that `measure` finds over the model's limit (`over`
    /// names it) when neither the request nor --auto-truncate allows truncation.
    mutating func checkedTokens(_ texts: [String], truncate: Bool, _ client: Peer, _ requestID: UInt64, _ out: inout [CoordinatorAction],
                                measure: (String) -> (tokens: Int, over: Bool), over: (Int) -> String) -> Int? {
        guard texts.count <= serving.limits.maxClientBatch else {
            fail(client, requestID, RPCStatus(.resourceExhausted, "\(texts.count) texts: the batch limit is \(serving.limits.maxClientBatch) (--max-client-batch)"), &out)
            return nil
        }
        var tokens = 0
        for (i, t) in texts.enumerated() {
            guard !t.isEmpty else { fail(client, requestID, RPCStatus(.invalidArgument, "text \(i) is empty"), &out); return nil }
            // The wire cannot carry a NUL (protobuf-c strings): refuse here, not after a worker's refusal.
            guard !t.utf8.contains(0) else { fail(client, requestID, RPCStatus(.invalidArgument, "text \(i) contains a NUL byte"), &out); return nil }
            let (n, isOver) = measure(t)
            if isOver && !(truncate || serving.limits.autoTruncate) {
                fail(client, requestID, RPCStatus(.outOfRange, over(i) + "; ask for truncate or start the coordinator with --auto-truncate"), &out)
                return nil
            }
            tokens += n
        }
        return tokens
    }

    mutating func startEmbedTexts(_ client: Peer, _ env: Envelope, _ m: EmbedTextsRequest, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard admitClient(client, env.requestID, &out) else { return }
        guard config.deModel != nil else {
            fail(client, env.requestID, RPCStatus(.failedPrecondition, "this coordinator serves no embedding model (--model)"), &out); return
        }
        guard !m.texts.isEmpty else { fail(client, env.requestID, RPCStatus(.invalidArgument, "no texts to embed"), &out); return }
        let tok = serving.deTokenizer
        guard let tokens = checkedTokens(m.texts, truncate: m.truncate, client, env.requestID, &out,
                                         measure: { Self.measure(tok, $0) },
                                         over: { "text \($0) is over the model's \(tok!.maxLength)-token limit" }) else { return }
        guard let deadline = clientDeadline(client, env, now, &out) else { return }
        let id = requests.nextID; requests.nextID += 1
        serving.calls[id] = ClientCall(client: client, clientRequestID: env.requestID, kind: .embed(m), deadline: deadline, promptTokens: tokens)
        sendClientCall(id, now, &out)
    }

    mutating func startRerankTexts(_ client: Peer, _ env: Envelope, _ m: RerankTextsRequest, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard admitClient(client, env.requestID, &out) else { return }
        guard config.ceModel != nil else {
            fail(client, env.requestID, RPCStatus(.failedPrecondition, "re-ranking asked but no cross encoder is configured (--ce)"), &out); return
        }
        guard !m.query.isEmpty, !m.texts.isEmpty else {
            fail(client, env.requestID, RPCStatus(.invalidArgument, "a rerank needs a non-empty query and at least one text"), &out); return
        }
        guard !m.query.utf8.contains(0) else {
            fail(client, env.requestID, RPCStatus(.invalidArgument, "the query contains a NUL byte"), &out); return
        }
        let tok = serving.ceTokenizer
        let q = tok.map { $0.encode(m.query, maxLength: $0.maxLength + 1).ids } ?? []
        guard let tokens = checkedTokens(m.texts, truncate: m.truncate, client, env.requestID, &out,
                                         measure: { Self.measurePair(tok, q, $0) },
                                         over: { "query and text \($0) are over the cross encoder's \(tok!.maxLength)-token limit" }) else { return }
        guard let deadline = clientDeadline(client, env, now, &out) else { return }
        let id = requests.nextID; requests.nextID += 1
        serving.calls[id] = ClientCall(client: client, clientRequestID: env.requestID, kind: .rerank(m), deadline: deadline, promptTokens: tokens)
        sendClientCall(id, now, &out)
    }

    /// The least busy live worker of `candidates` not in `tried`: fewest job chunks leased, then
    /// fewest requests outstanding; ties round-robin. (A worker embedding a chunk answers nothing
    /// else until it is done, so a query sent there waits for the whole chunk.)
    mutating func pickLeastBusy(_ candidates: [Peer], tried: Set<Peer>) -> Peer? {
        let c = candidates.filter { !tried.contains($0) }
        guard !c.isEmpty else { return nil }
        var chunks: [Peer: Int] = [:], others: [Peer: Int] = [:]
        for o in requests.table.values {
            if case .chunk = o.purpose { chunks[o.worker, default: 0] += 1 } else { others[o.worker, default: 0] += 1 }
        }
        func load(_ w: Peer) -> (Int, Int) { (chunks[w] ?? 0, others[w] ?? 0) }
        let best = c.map(load).min { $0 < $1 }!
        let ties = c.filter { load($0) == best }
        roundRobin &+= 1
        return ties[roundRobin % ties.count]
    }

    /// The coordinator's own encoder when it has one and `tried` does not hold it yet.
    func localEncoder(untried tried: Set<Peer>) -> Peer? {
        guard let p = serving.localEncoder, !tried.contains(p) else { return nil }
        return p
    }

    /// Sends (or re-sends, after a worker failed) a call to the coordinator's own encoder (embed
    /// calls, when it has one) or else the least busy live worker with the model, not yet tried.
    mutating func sendClientCall(_ id: UInt64, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard var c = serving.calls[id] else { return }
        let model: String
        switch c.kind {
        case .embed: model = ProtocolConstants.deModelName
        case .rerank: model = ProtocolConstants.ceModelName
        }
        var local: Peer?
        if case .embed = c.kind { local = localEncoder(untried: c.tried) }
        guard let w = local ?? pickLeastBusy(withModel(model), tried: c.tried) else {
            finishClientCall(id, .failure(RPCStatus(.unavailable, c.tried.isEmpty ? "no live worker has the model loaded yet" : "every worker tried failed")), &out)
            return
        }
        c.tried.insert(w)
        serving.calls[id] = c
        switch c.kind {
        case .embed(let m):
            send(w, .embedBatchRequest(EmbedBatchRequest(model: model, texts: m.texts)), .serving(id), now, &out, deadline: c.deadline)
        case .rerank(let m):
            let passages = m.texts.enumerated().map { Document(id: String($0.offset), text: $0.element) }
            send(w, .rerankRequest(RerankRequest(model: model, query: m.query, passages: passages)), .serving(id), now, &out, deadline: c.deadline)
        }
    }

    /// A worker's reply to a client call.
    mutating func clientCallAnswered(_ o: Outstanding, _ id: UInt64, _ body: Body, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard let c = serving.calls[id] else { return }
        switch (c.kind, body) {
        case (.embed(let m), .embedBatchReply(let r)) where r.vectors.rows == m.texts.count:
            finishClientCall(id, .success(.embedTextsReply(EmbedTextsReply(vectors: r.vectors, promptTokens: c.promptTokens))), &out)
        case (.rerank(let m), .rerankReply(let r)) where r.scores.count == m.texts.count:
            finishClientCall(id, .success(.rerankTextsReply(RerankTextsReply(scores: r.scores, promptTokens: c.promptTokens))), &out)
        default:
            requestFailed(o, RPCStatus(.internalError, "unexpected reply \(body) to a client call"), now, &out)
        }
    }

    /// A worker request of a client call failed: a dead or unreachable worker is retried on another;
    /// an error the worker reports about the request itself goes back to the client.
    mutating func clientCallFailed(_ id: UInt64, _ status: RPCStatus, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard serving.calls[id] != nil else { return }
        if (status.code == .unavailable || status.code == .internalError) && now < serving.calls[id]!.deadline {
            sendClientCall(id, now, &out)
        } else {
            finishClientCall(id, .failure(status), &out)
        }
    }

    /// Answers client calls past their deadline with DEADLINE_EXCEEDED.
    mutating func expireClientCalls(_ now: Double, _ out: inout [CoordinatorAction]) {
        for id in serving.calls.keys.sorted() where serving.calls[id]!.deadline <= now {
            finishClientCall(id, .failure(RPCStatus(.deadlineExceeded, "no answer before the deadline")), &out)
        }
    }

    /// Answers every client request in flight with `status` (the end of a drain's grace period).
    public mutating func abandonClientRequests(_ status: RPCStatus) -> [CoordinatorAction] {
        var out: [CoordinatorAction] = []
        for id in serving.calls.keys.sorted() { finishClientCall(id, .failure(status), &out) }
        for sid in search.searches.keys.sorted() { finishSearch(sid, status: status, 0, &out) }
        return out
    }

    mutating func finishClientCall(_ id: UInt64, _ result: Result<Body, RPCStatus>, _ out: inout [CoordinatorAction]) {
        guard let c = serving.calls.removeValue(forKey: id) else { return }
        for (rid, o) in requests.table where o.purpose == .serving(id) { requests.table[rid] = nil }
        switch result {
        case .success(let body): reply(c.client, c.clientRequestID, body, &out)
        case .failure(let s): fail(c.client, c.clientRequestID, s, &out)
        }
    }
}
