import Wire

/// A worker that asked to leave: who waits for the reply, since when, what it handed over.
struct LeavingWorker {
    var requestID: UInt64
    var since: Double
    var lastPlan = -Double.infinity
    var released: Set<Int> = []
}

/// Worker drain (issue 9 item 5), pure like the rest of the coordinator. A worker sent SIGTERM
/// asks to leave (WorkerLeavingRequest). From then on it gets no new query embedding, re-rank or
/// job chunk (`servingWorkers`), and shard placement pauses while its shards are copied to the
/// other workers (`ShardMap.handOver`); it keeps answering searches of each shard until the
/// shard's new replicas are ready. Once it holds no shard and has no request of ours in flight, it
/// gets its WorkerLeavingReply and is forgotten (its later heartbeats are answered "register", which
/// a leaving worker ignores). A drain that cannot finish within `drainTimeout` is answered
/// incomplete, naming the shards left without another replica.
extension Coordinator {
    /// Longest a drain may take before the coordinator replies anyway (`ProtocolConstants.coordinatorDrainTimeout`).
    public static let drainTimeout = ProtocolConstants.coordinatorDrainTimeout
    /// Shortest time between two hand-over plans of one drain (`ProtocolConstants.drainReplanInterval`).
    static let drainReplanInterval = ProtocolConstants.drainReplanInterval

    /// Live workers that may be given new work (not leaving), in a stable order.
    var servingWorkers: [Peer] { liveWorkers.filter { leaving[$0] == nil } }

    /// Workers to embed queries or re-rank with `model`: those not leaving, or, when every worker
    /// with the model is leaving, the leaving ones (better late than refusing the query).
    func servingWorkers(withModel name: String) -> [Peer] {
        let all = liveWorkers.filter { membership.workers[$0]!.models.contains(name) }
        let staying = all.filter { leaving[$0] == nil }
        return staying.isEmpty ? all : staying
    }

    mutating func workerLeaving(_ from: Peer, _ requestID: UInt64, _ m: WorkerLeavingRequest, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard membership.workers[from] != nil else {
            reply(from, requestID, .workerLeavingReply(WorkerLeavingReply(shardsMoved: 0, complete: true, message: "not a registered worker: nothing to move")), &out)
            return
        }
        if leaving[from] == nil {
            leaving[from] = LeavingWorker(requestID: requestID, since: now)
            out.append(.log("worker \(from) (\(m.workerID)) is leaving: moving its shards, sending it no new work"))
        } else {
            leaving[from]!.requestID = requestID
        }
        drainStep(from, now, &out)
    }

    /// Advances every drain (each tick).
    mutating func drainTick(_ now: Double, _ out: inout [CoordinatorAction]) {
        for w in leaving.keys.sorted() { drainStep(w, now, &out) }
    }

    mutating func drainStep(_ w: Peer, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard var l = leaving[w] else { return }
        guard membership.workers[w] != nil else { leaving[w] = nil; return }
        do {
            // Shards are released at every step (before the tick's dropSurplus, which would drop
            // the leaving replica's files); new copies are planned at most once per interval.
            let plan = now - l.lastPlan >= Self.drainReplanInterval
            if plan { l.lastPlan = now }
            let (assign, released) = shardMap.handOver(from: w, to: plan ? servingWorkers : [])
            for (s, t) in assign {
                let shard = shardMap.shards[s]
                out.append(.log("drain of \(w): assign shard \(s) (\(shard.range.count) docs) to \(t)"))
                send(t, .assignShardRequest(AssignShardRequest(shardID: s, model: ProtocolConstants.deModelName, firstDocIndex: shard.range.lowerBound,
                                                               documents: Array(corpus[shard.range]))), .assignShard(s), now, &out)
            }
            for s in released { out.append(.log("drain of \(w): shard \(s) is served by \(shardMap.readyReplicas(s).map(\.description).joined(separator: ", "))")) }
            l.released.formUnion(released)
            leaving[w] = l
        }
        let holds = shardMap.shards.filter { $0.assigned.contains(w) }.map(\.id)
        let busy = requests.table.values.contains { o in
            guard o.worker == w else { return false }
            switch o.purpose { case .dropShard, .loadModel: return false; default: return true }
        }
        let timedOut = now - l.since > Self.drainTimeout
        guard (holds.isEmpty && !busy) || timedOut else { return }
        let message = holds.isEmpty ? "" : "drain timed out after \(Self.drainTimeout) s; shard(s) \(holds) had no other ready replica"
        out.append(.log("worker \(w) drained\(holds.isEmpty ? "" : " incompletely (\(message))"): it leaves"))
        reply(w, l.requestID, .workerLeavingReply(WorkerLeavingReply(shardsMoved: l.released.count, complete: holds.isEmpty, message: message)), &out)
        leaving[w] = nil
        workerDied(w, now, &out)
    }
}
