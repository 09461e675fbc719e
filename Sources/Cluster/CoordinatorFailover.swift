import Wire

/// Fast failover: a worker whose connection dropped is suspect at once (its search requests go
/// to other replicas now, not at the deadline), and a query embedding or shard search unanswered
/// within the per-try budget is also sent to another ready replica (the first answer wins).
extension Coordinator {
    /// Workers that may be given serving work: live and not suspect.
    func usable(_ w: Peer) -> Bool { membership.usable(w) }

    /// Workers currently suspect (their connection dropped), in a stable order.
    public var suspectWorkers: [Peer] { membership.suspect }

    mutating func connectionLost(_ peer: Peer, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard membership.connectionLost(peer, now: now) else { return }
        out.append(.log("worker \(peer): connection dropped: suspect (dead unless it speaks within \(config.suspectGrace) s)"))
        let mine = outstanding.filter { $0.value.worker == peer && $0.value.purpose.isServing }.sorted { $0.key < $1.key }
        for (id, o) in mine {
            outstanding[id] = nil
            requestFailed(o, RPCStatus(.unavailable, "connection to \(peer) dropped"), now, &out, countsAsFailure: false)
        }
    }

    /// Sends each query embedding or shard search older than the per-try budget once more, to a
    /// usable replica not yet tried (none: keep waiting for the first, until the deadline).
    mutating func hedgeSlowRequests(_ now: Double, _ out: inout [CoordinatorAction]) {
        for id in outstanding.keys.sorted() {
            guard let o = outstanding[id], !o.hedged, now - o.sentAt > config.searchTryBudget else { continue }
            switch o.purpose {
            case .embedQuery(let sid):
                outstanding[id]!.hedged = true
                out.append(.log("search \(sid): query embedding on \(o.worker) unanswered after \(config.searchTryBudget) s"))
                embedQuery(sid, now, &out, hedge: true)
            case .searchShard(let sid, let shard):
                outstanding[id]!.hedged = true
                out.append(.log("search \(sid): shard \(shard) on \(o.worker) unanswered after \(config.searchTryBudget) s"))
                searchShard(sid, shard, now, &out, hedge: true)
            default:
                break
            }
        }
    }

    /// True when a request matching `p` is outstanding.
    func inFlight(_ p: (Purpose) -> Bool) -> Bool { outstanding.values.contains { p($0.purpose) } }
}

extension Purpose {
    /// Work for a search (retried elsewhere when its worker's connection drops).
    var isServing: Bool {
        switch self {
        case .embedQuery, .searchShard, .rerank: return true
        default: return false
        }
    }
}
