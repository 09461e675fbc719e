import Wire

/// The Placement part of the coordinator: which worker indexes and serves which shard of the
/// served corpus. Pure: `place` and `dropSurplus` return directives (`Directive`) that the
/// `Coordinator` turns into AssignShard / DropShard requests, and the outcome of each comes back
/// through `indexed` or `assignmentFailed`. It holds the `ShardMap`, the bounded retries of failed
/// assignments (back-off, `assignShardMaxAttempts` per shard, another round when a worker joins),
/// the placement delay after the first registration, and the indexing progress (which
/// `clusterStatus` reports).
public struct Placement: Sendable {
    public enum Directive: Equatable, Sendable {
        /// Ask `worker` to index and serve `shard`.
        case assign(shard: Int, worker: Peer)
        /// Ask `worker` to drop its replica of `shard` (another replica took its place).
        case drop(shard: Int, worker: Peer)
    }

    public internal(set) var shardMap: ShardMap
    /// Seconds after the first worker registers before shards are placed.
    public let placementDelay: Double
    var firstRegistration: Double?
    /// AssignShard failures per shard (back-off, cap).
    var shardRetry: [Int: RetryState] = [:]
    /// Indexing progress: when each (shard, worker) assignment was sent, how long the last
    /// completed one of each shard took, when indexing began, when each worker last finished one.
    var assignSent: [Int: [Peer: Double]] = [:]
    var shardDoneSeconds: [Int: Double] = [:]
    var indexingStart: Double?
    var indexedSinceStart = 0
    var lastIndexedAt: [Peer: Double] = [:]

    public init(documentCount: Int, shardCount: Int, replication: Int, placementDelay: Double) {
        shardMap = ShardMap(documentCount: documentCount, shardCount: shardCount, replication: replication)
        self.placementDelay = placementDelay
    }

    /// A worker registered at `now`: the first starts the placement delay, and shards whose
    /// assignments failed up to the cap get another round (the new worker may index them).
    public mutating func workerJoined(now: Double) {
        for (sh, r) in shardRetry where r.exhausted(cap: ProtocolConstants.assignShardMaxAttempts) { shardRetry[sh] = nil }
        if firstRegistration == nil { firstRegistration = now }
    }

    /// The assignments due at `now`: missing replicas filled and replicas moved onto new workers,
    /// among `indexers` (workers that can index: the DE loaded or loading), preferring for each
    /// shard a worker that `held` it on disk. None before the placement delay has passed; none for
    /// a shard waiting out its back-off or past its cap.
    public mutating func place(now: Double, indexers: [Peer], held: [Peer: Set<Int>]) -> [Directive] {
        guard let first = firstRegistration, now >= first + placementDelay else { return [] }
        let waiting = Set(shardRetry.filter { !$0.value.mayTry(now: now, cap: ProtocolConstants.assignShardMaxAttempts) }.keys)
        let pairs = shardMap.fillReplicas(live: indexers, held: held, skip: waiting) + shardMap.rebalance(live: indexers)
        for (s, w) in pairs { noteAssigned(s, w, now) }
        return pairs.map { .assign(shard: $0.shard, worker: $0.worker) }
    }

    /// Replicas to drop: the old copies of moved shards whose new copies are ready.
    public mutating func dropSurplus() -> [Directive] {
        shardMap.dropSurplus().map { .drop(shard: $0.shard, worker: $0.worker) }
    }

    /// `w` indexed `shard` (`count` documents) at `now`. Returns whether the replica is ready
    /// (false when `w` is not assigned the shard: a late answer after it was moved or failed) and
    /// how long the worker spent on it (nil when not timed, as for a repeated answer).
    public mutating func indexed(shard: Int, worker w: Peer, count: Int, now: Double) -> (ready: Bool, took: Double?) {
        shardRetry[shard] = nil
        guard shardMap.markReady(shard: shard, worker: w) else { return (false, nil) }
        return (true, noteIndexed(shard, w, count, now))
    }

    /// An assignment of `shard` to `w` failed (an error reply or a timeout, `countsAsFailure`; or
    /// the worker died). The shard is unassigned; a failure backs off. Returns a log line.
    public mutating func assignmentFailed(shard s: Int, worker w: Peer, message: String, now: Double, countsAsFailure: Bool) -> String? {
        shardMap.unassign(shard: s, worker: w)
        assignSent[s]?[w] = nil
        guard countsAsFailure else { return nil }
        shardRetry[s, default: RetryState()].failed(message, now: now)
        let r = shardRetry[s]!
        if r.exhausted(cap: ProtocolConstants.assignShardMaxAttempts) {
            return "shard \(s): \(r.failures) assignments failed (last: \(message)); waiting for a new worker"
        }
        return String(format: "shard %d: assignment failed %d time(s); next try in %.0f s", s, r.failures, r.nextTry - now)
    }

    /// Forgets a dead worker's replicas and timings.
    public mutating func workerDied(_ w: Peer) {
        for s in assignSent.keys { assignSent[s]![w] = nil }
        lastIndexedAt[w] = nil
        shardMap.remove(worker: w)
    }

    mutating func noteAssigned(_ shard: Int, _ w: Peer, _ now: Double) {
        // A new indexing period starts when nothing was being indexed.
        if assignSent.values.allSatisfy({ $0.isEmpty }) { indexingStart = now; indexedSinceStart = 0 }
        assignSent[shard, default: [:]][w] = now
    }

    /// Records a replica indexed; returns how long the worker spent on it (nil: not one we timed).
    /// A worker runs its requests one at a time, so an assignment queued behind another started
    /// when that one ended: the time counts from there, not from when it was sent.
    mutating func noteIndexed(_ shard: Int, _ w: Peer, _ count: Int, _ now: Double) -> Double? {
        guard let sent = assignSent[shard]?.removeValue(forKey: w) else { return nil }
        let took = now - max(sent, lastIndexedAt[w] ?? sent)
        lastIndexedAt[w] = now
        shardDoneSeconds[shard] = took
        indexedSinceStart += count
        return took
    }
}
