import Wire

/// Fast failover: a worker whose connection dropped is suspect at once (Membership), and its
/// search requests go to other replicas now, not at the deadline (the Search part's `tryFailed`).
/// A try slower than the per-try budget is hedged by the Search part on each tick.
extension Coordinator {
    /// Workers that may be given serving work: live and not suspect.
    func usable(_ w: Peer) -> Bool { membership.usable(w) }

    /// Workers currently suspect (their connection dropped), in a stable order.
    public var suspectWorkers: [Peer] { membership.suspect }

    mutating func connectionLost(_ peer: Peer, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard membership.connectionLost(peer, now: now) else { return }
        out.append(.log("worker \(peer): connection dropped: suspect (dead unless it speaks within \(config.suspectGrace) s)"))
        for (_, o) in requests.removeAll(where: { $0.worker == peer && $0.purpose.isServing }) {
            requestFailed(o, RPCStatus(.unavailable, "connection to \(peer) dropped"), now, &out, countsAsFailure: false)
        }
    }
}
