import Wire

/// The coordinator as a pure state machine: `handle` takes an event and returns the actions for
/// the shell (`CoordinatorServer`) to perform. It never touches a socket or a file: what needs a
/// read or a write (a job's corpus, a chunk's texts, the journal, the output) is an action, and
/// its outcome comes back as an event. It is composed of parts, each in its own file(s):
/// - Membership (`Membership`: Paranoid-Pirate heartbeats, suspects whose connection dropped,
///   deaths; registration and model loading here);
/// - Placement (`Placement` and its `ShardMap`: replicas, rebalancing, AssignShard retries,
///   indexing progress; drains in CoordinatorDrain.swift);
/// - Search (`Searches`: every search in flight, its replica choice, per-try budget (hedging),
///   failover and deadline; `SearchState`: one search from query to reply);
/// - Jobs (`JobsState`: submissions, and a running job's chunk leases, completion, failures with
///   back-off and cap, lease expiry, over each job's `JobScheduler`; the Coordinator picks the
///   worker for a chunk and routes, in CoordinatorJobs.swift);
/// - Requests (`RequestTable`: the requests in flight to workers, by id, shared by the parts: it
///   routes each reply to the part that sent the request, and drops the rest).
/// `Membership`, `Placement`, `Searches`, `JobsState` and `RequestTable` can be driven alone in
/// tests; the Coordinator routes events to them and turns their directives into messages. The
/// query's embedder is chosen here (CoordinatorSearch.swift), as for the serving calls.
public struct Coordinator: Sendable {
    public let config: CoordinatorConfig
    /// The served corpus (global document index = position).
    public let corpus: [Document]
    /// The Placement part (Placement.swift).
    public internal(set) var placement: Placement
    /// Which workers hold which shards (the Placement part's).
    public internal(set) var shardMap: ShardMap {
        get { placement.shardMap }
        _modify { yield &placement.shardMap }
        set { placement.shardMap = newValue }
    }
    /// The Membership part (Membership.swift).
    public internal(set) var membership: Membership
    var loading: [Peer: Set<String>] = [:]
    /// The Requests part (Requests.swift).
    public internal(set) var requests = RequestTable()
    /// The Search part (Searches.swift).
    public internal(set) var search: Searches
    /// The Jobs part (JobsState.swift).
    public internal(set) var jobsState = JobsState()
    /// Batch jobs by id (the Jobs part's runs).
    public internal(set) var jobs: [String: JobRun] {
        get { jobsState.runs }
        _modify { yield &jobsState.runs }
        set { jobsState.runs = newValue }
    }
    var roundRobin = 0
    /// LoadModel failures per worker and model (back-off, cap).
    var loadRetry: [LoadKey: RetryState] = [:]
    /// Client embed/rerank calls, limits, draining (CoordinatorServing.swift).
    public var serving = ServingState()
    /// Workers draining (CoordinatorDrain.swift).
    var leaving: [Peer: LeavingWorker] = [:]

    public init(config: CoordinatorConfig, corpus: [Document]) {
        self.config = config
        self.corpus = corpus
        membership = Membership(interval: config.heartbeatInterval, liveness: config.heartbeatLiveness, suspectGrace: config.suspectGrace)
        placement = Placement(documentCount: corpus.count, shardCount: config.shardCount, replication: config.replication,
                              placementDelay: config.placementDelay)
        search = Searches(corpus: corpus, shardRanges: placement.shardMap.shards.map(\.range), tryBudget: config.searchTryBudget)
    }

    /// Live workers, in a stable order.
    public var liveWorkers: [Peer] { membership.live }

    /// True when every shard has a ready replica on a live worker (or there is no corpus) and a worker is up.
    public var ready: Bool {
        !membership.workers.isEmpty && (corpus.isEmpty || shardMap.shards.allSatisfy { !$0.ready.isEmpty })
    }

    public var shardsReady: Int { shardMap.shards.filter { !$0.ready.isEmpty }.count }

    /// Adds a batch job (the shell has read its corpus and journal).
    public mutating func addJob(_ job: JobRun) { jobs[job.spec.jobID] = job }

    public mutating func handle(_ event: CoordinatorEvent) -> [CoordinatorAction] {
        var out: [CoordinatorAction] = []
        switch event {
        case .message(let from, let env, let now):
            if membership.heard(from, now: now) { out.append(.log("worker \(from) is speaking again: no longer suspect")) }
            receive(from, env, now, &out)
            dispatchChunks(now, &out)
        case .badFrame(let from, let error, _):
            out.append(.log("bad frame from \(from): \(error)"))
            out.append(.send(to: from, Envelope(requestID: error.requestID ?? 0, status: error.status, body: .error(error.status))))
        case .tick(let now):
            tick(now, &out)
        case .connectionLost(let peer, let now):
            connectionLost(peer, now, &out)
        case .jobSubmitted(let from, let requestID, let submission, _):
            jobsState.submitted(JobWaiter(peer: from, requestID: requestID), submission, &out)
        case .corpusIndexed(let jobID, let result, _):
            jobsState.corpusIndexed(jobID, result, &out)
        case .jobStored(let jobID, let error, let now):
            jobsState.stored(jobID, error, now, &out)
            dispatchChunks(now, &out)
        case .chunkTextsRead(let jobID, let chunk, let worker, let texts, let now):
            chunkTextsRead(jobID, chunk, worker, texts, now, &out)
        case .chunkReadFailed(let jobID, let chunk, let worker, let error, _):
            if jobsState.chunkReadFailed(jobID, chunk, by: worker, error, &out) { dropChunkRequests(jobID) }
        case .persistFailed(let jobID, let error, _):
            persistFailed(jobID, error, &out)
        case .sendFailed(let to, let requestID, let error, let now):
            // Only a request of ours is in the table (a reply or heartbeat that failed is only logged).
            out.append(.log("send to \(to) failed: \(error)"))
            if let o = requests.answered(requestID, from: to) {
                requestFailed(o, RPCStatus(.unavailable, "send to \(to) failed: \(error)"), now, &out)
            }
        }
        // No log line is unbounded (a whole request once ended up in one).
        return out.map { if case .log(let l) = $0 { return .log(LogLine.cap(l)) } else { return $0 } }
    }

    // MARK: membership

    mutating func send(_ to: Peer, _ body: Body, _ purpose: Purpose?, _ now: Double, _ out: inout [CoordinatorAction], deadline: Double = 0) {
        let id = requests.newID()
        if let p = purpose { requests.sent(id, to: to, p, now: now) }
        membership.sent(to, now: now)
        out.append(.send(to: to, Envelope(requestID: id, deadlineUnixMs: Int64(deadline * 1000), body: body)))
    }

    mutating func reply(_ to: Peer, _ requestID: UInt64, _ body: Body, _ out: inout [CoordinatorAction]) {
        out.append(.send(to: to, Envelope(requestID: requestID, status: .ok, body: body)))
    }

    mutating func fail(_ to: Peer, _ requestID: UInt64, _ status: RPCStatus, _ out: inout [CoordinatorAction]) {
        out.append(.send(to: to, Envelope(requestID: requestID, status: status, body: .error(status))))
    }

    mutating func register(_ from: Peer, _ m: RegisterRequest, _ requestID: UInt64, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard m.protocolVersion == ProtocolConstants.protocolVersion else {
            fail(from, requestID, RPCStatus(.failedPrecondition, "protocol version \(m.protocolVersion), coordinator speaks \(ProtocolConstants.protocolVersion)"), &out)
            return
        }
        let precision = m.precision.isEmpty ? "fp32" : m.precision
        guard precision == config.precision else {
            out.append(.log("worker \(from) refused: it embeds in \(precision), this cluster in \(config.precision)"))
            fail(from, requestID, RPCStatus(.failedPrecondition, "registration refused: this worker embeds in \(precision) but the cluster's documents and queries are \(config.precision); start the worker with --precision \(config.precision)"), &out)
            return
        }
        if membership.workers[from] != nil {
            out.append(.log("worker \(from) re-registered: treating its old session as dead"))
            workerDied(from, now, &out)
        }
        membership.joined(from, name: m.workerID, held: Set(m.shardsHeld), now: now)
        for k in loadRetry.keys where k.worker == from { loadRetry[k] = nil }
        // A new worker may index a shard the others failed: give up-on shards another round.
        placement.workerJoined(now: now)
        out.append(.log("worker \(from) registered (\(membership.workers.count) live)"))
        reply(from, requestID, .registerReply(RegisterReply(heartbeatIntervalMs: Int(config.heartbeatInterval * 1000),
                                                             heartbeatLiveness: config.heartbeatLiveness)), &out)
        if let de = config.deModel { loadModel(from, ProtocolConstants.deModelName, de, now, &out) }
        if let ce = config.ceModel { loadModel(from, ProtocolConstants.ceModelName, ce, now, &out) }
        placeShards(now, &out)
    }

    mutating func loadModel(_ w: Peer, _ name: String, _ path: String, _ now: Double, _ out: inout [CoordinatorAction]) {
        loading[w, default: []].insert(name)
        let layer = name == ProtocolConstants.deModelName ? config.retrievalLayer : nil
        send(w, .loadModelRequest(LoadModelRequest(name: name, path: path, embedLayer: layer)), .loadModel(name), now, &out)
    }

    /// Fills missing replicas and rebalances onto new workers.
    mutating func placeShards(_ now: Double, _ out: inout [CoordinatorAction]) {
        guard !corpus.isEmpty, config.deModel != nil else { return }
        guard leaving.isEmpty else { return }   // a drain places the leaving worker's shards itself
        // Only a worker with the DE loaded, or loading it, can index: one whose load failed gets no
        // shard (its AssignShard would only fail) until a retried load succeeds.
        let de = ProtocolConstants.deModelName
        let live = liveWorkers.filter { membership.workers[$0]!.models.contains(de) || (loading[$0]?.contains(de) ?? false) }
        let held = Dictionary(uniqueKeysWithValues: membership.workers.map { ($0.key, $0.value.held) })
        // Shards whose assignment failed wait out their back-off; past the cap they wait for a new worker.
        for case .assign(let s, let w) in placement.place(now: now, indexers: live, held: held) {
            let shard = shardMap.shards[s]
            out.append(.log("assign shard \(s) (\(shard.range.count) docs) to \(w)"))
            send(w, .assignShardRequest(AssignShardRequest(shardID: s, model: ProtocolConstants.deModelName, firstDocIndex: shard.range.lowerBound,
                                                           documents: Array(corpus[shard.range]))), .assignShard(s), now, &out)
        }
    }

    mutating func workerDied(_ w: Peer, _ now: Double, _ out: inout [CoordinatorAction]) {
        membership.remove(w)
        leaving[w] = nil
        loading[w] = nil
        for k in loadRetry.keys where k.worker == w { loadRetry[k] = nil }
        placement.workerDied(w)
        jobsState.workerDied(w, &out)
        for (_, o) in requests.removeAll(where: { $0.worker == w }) {
            requestFailed(o, RPCStatus(.unavailable, "worker \(w) died"), now, &out, countsAsFailure: false)
        }
        placeShards(now, &out)
    }

    mutating func tick(_ now: Double, _ out: inout [CoordinatorAction]) {
        for d in membership.tick(now: now) {
            switch d {
            case .heartbeat(let w):
                out.append(.send(to: w, Envelope(requestID: 0, body: .heartbeat(Heartbeat(workerID: "coordinator", sequence: UInt64(now * 1000))))))
            case .dead(let w, let reason):
                out.append(.log(reason))
                workerDied(w, now, &out)
            }
        }
        expireRequests(now, &out)
        if !search.searches.isEmpty { perform(search.tick(now: now, searchWorkers, &requests), now, &out) }
        expireClientCalls(now, &out)
        for id in jobsState.expireLeases(now: now, &out) { dropChunkRequests(id) }
        retryServingLoads(now, &out)
        drainTick(now, &out)
        placeShards(now, &out)
        for case .drop(let s, let w) in placement.dropSurplus() {
            out.append(.log("shard \(s) moved: dropping the replica on \(w)"))
            send(w, .dropShardRequest(DropShardRequest(shardID: s)), .dropShard(s), now, &out)
        }
        dispatchChunks(now, &out)
    }

    /// How long a request of this purpose may stay unanswered (nil: bounded elsewhere, by the
    /// search deadline or the chunk lease).
    func timeout(_ p: Purpose) -> Double? {
        switch p {
        case .loadModel: return config.loadModelTimeout
        case .assignShard(let s): return config.assignShardTimeout + config.assignShardTimeoutPerDocument * Double(shardMap.shards[s].range.count)
        case .dropShard: return config.dropShardTimeout
        case .embedQuery, .searchShard, .rerank, .chunk, .serving: return nil
        }
    }

    /// Fails the LoadModel / AssignShard / DropShard requests past their deadline. A serving model
    /// (DE/CE) whose load failed or timed out is asked for again after a back-off
    /// (`retryServingLoads`), so the worker can still become useful.
    mutating func expireRequests(_ now: Double, _ out: inout [CoordinatorAction]) {
        for (o, limit) in requests.expire(now: now, limit: timeout) {
            requestFailed(o, RPCStatus(.deadlineExceeded, "no answer from \(o.worker) within \(limit) s"), now, &out)
        }
    }

    // MARK: messages

    mutating func receive(_ from: Peer, _ env: Envelope, _ now: Double, _ out: inout [CoordinatorAction]) {
        switch env.body {
        case .registerRequest(let m):
            register(from, m, env.requestID, now, &out)
            return
        case .heartbeat:
            if membership.workers[from] == nil {
                // A worker we declared dead (or never knew) is alive: make it register again.
                fail(from, 0, RPCStatus(.failedPrecondition, "unknown worker: register"), &out)
            }
            return
        case .searchRequest(let m):
            if admitClient(from, env.requestID, &out) { startSearch(from, env, m, now, &out) }
            return
        case .embedTextsRequest(let m):
            startEmbedTexts(from, env, m, now, &out)
            return
        case .rerankTextsRequest(let m):
            startRerankTexts(from, env, m, now, &out)
            return
        case .jobStatusRequest(let m):
            jobStatus(from, env.requestID, m.jobID, now, &out)
            return
        case .workerLeavingRequest(let m):
            workerLeaving(from, env.requestID, m, now, &out)
            return
        case .clusterStatusRequest:
            reply(from, env.requestID, .clusterStatusReply(clusterStatus(now)), &out)
            return
        case .jobCancelRequest(let m):
            cancelJob(from, env.requestID, m.jobID, &out)
            return
        default:
            break
        }
        // Everything else is a reply to one of our requests (the Requests part routes it).
        guard let o = requests.answered(env.requestID, from: from) else {
            if case .error = env.body { return }
            if env.status == nil {
                fail(from, env.requestID, RPCStatus(.unimplemented, "the coordinator does not serve this request"), &out)
            }
            return
        }
        if let s = env.status, s.code != .ok {
            requestFailed(o, s, now, &out); return
        }
        if case .error(let s) = env.body { requestFailed(o, s, now, &out); return }
        switch (o.purpose, env.body) {
        case (.serving(let id), _):
            clientCallAnswered(o, id, env.body, now, &out)
        case (.loadModel(let name), .loadModelReply):
            loading[from]?.remove(name)
            membership.workers[from]?.models.insert(name)
            loadRetry[LoadKey(worker: from, name: name)] = nil
        case (.assignShard(let s), .assignShardReply(let r)) where r.shardID == s && r.count == shardMap.shards[s].range.count:
            let (ready, took) = placement.indexed(shard: s, worker: from, count: r.count, now: now)
            if ready {
                let timing = took.map { t in String(format: " (%d documents in %.1f s", r.count, t) + (t > 0 ? String(format: ", %.1f docs/s)", Double(r.count) / t) : ")") }
                out.append(.log("shard \(s) ready on \(from)" + (timing ?? "")))
            }
        case (.dropShard, .dropShardReply):
            break
        case (.embedQuery(let sid), .embedBatchReply(let r)):
            if r.vectors.rows == 1 { perform(search.queryEmbedded(sid, r.vectors.data, searchWorkers, now: now, &requests), now, &out) } else { requestFailed(o, RPCStatus(.internalError, "embed returned \(r.vectors.rows) rows"), now, &out) }
        case (.searchShard(let sid, let shard), .searchShardReply(let r)) where r.shardID == shard:
            perform(search.shardAnswered(sid, shard, from: from, r.hits, searchWorkers, now: now, &requests), now, &out)
        case (.rerank(let sid, let part), .rerankReply(let r)):
            perform(search.rerankAnswered(sid, part, from: from, r.scores, searchWorkers, now: now, &requests), now, &out)
        case (.chunk(let job, let chunk), .embedChunkReply(let r)) where r.jobID == job && r.chunkIndex == chunk:
            chunkDone(o, job, chunk, r.vectors, now, &out)
        default:
            requestFailed(o, RPCStatus(.internalError, "unexpected reply \(env.body) to \(o.purpose)"), now, &out)
        }
    }

    /// Routes a failed worker request (error reply, timeout, or dead worker: then
    /// `countsAsFailure` is false, the request itself was not at fault).
    mutating func requestFailed(_ o: Outstanding, _ status: RPCStatus, _ now: Double, _ out: inout [CoordinatorAction], countsAsFailure: Bool = true) {
        out.append(.log("request \(o.purpose) to \(o.worker) failed: \(status)"))
        switch o.purpose {
        case .loadModel(let name):
            loading[o.worker]?.remove(name)
            if countsAsFailure { loadFailed(o.worker, name, status.message, now, &out) }
        case .assignShard(let s):
            if let line = placement.assignmentFailed(shard: s, worker: o.worker, message: status.message, now: now, countsAsFailure: countsAsFailure) {
                out.append(.log(line))
            }
        case .dropShard:
            break
        case .embedQuery, .searchShard, .rerank:
            perform(search.tryFailed(o.purpose, searchWorkers, now: now, &requests), now, &out)
        case .serving(let id):
            clientCallFailed(id, status, now, &out)
        case .chunk(let job, let chunk):
            // The Jobs part decides (release, back-off, cap); a failed job's requests are forgotten here.
            if jobsState.chunkRequestFailed(job, chunk, by: o.worker, status, countsAsFailure: countsAsFailure, now: now, &out) {
                dropChunkRequests(job)
            }
        }
    }
}
