/// Which workers hold which shards, with a replication factor. Pure data; the coordinator
/// drives it. A replica is `assigned` when the worker was asked to hold the shard and `ready`
/// once it answered that the shard is indexed.
public struct ShardMap: Sendable {
    public struct Shard: Sendable, Equatable {
        public let id: Int
        /// Global document indices of the shard.
        public let range: Range<Int>
        public var assigned: [Peer] = []
        public var ready: Set<Peer> = []
    }

    public private(set) var shards: [Shard]
    public let replication: Int

    /// Splits `documentCount` documents into `shardCount` contiguous shards of near-equal size.
    public init(documentCount: Int, shardCount: Int, replication: Int) {
        precondition(shardCount >= 1 && replication >= 1)
        let n = max(1, min(shardCount, max(documentCount, 1)))
        shards = (0..<n).map { i in
            Shard(id: i, range: (documentCount * i / n)..<(documentCount * (i + 1) / n))
        }
        self.replication = replication
    }

    /// Shards each live worker is assigned (its load).
    func load(of w: Peer) -> Int { shards.reduce(0) { $0 + ($1.assigned.contains(w) ? 1 : 0) } }

    /// Assignments that bring every shard up to min(replication, live workers) replicas on live
    /// workers, least-loaded first (ties by peer id). Returns (shard, worker) pairs to send.
    /// `held`: shards each worker says it already has on disk; such a worker is preferred for
    /// them (no re-embedding after a coordinator restart) while its load stays within the even share.
    /// Shards in `skip` (waiting out a retry back-off) get no new assignment now.
    public mutating func fillReplicas(live: [Peer], held: [Peer: Set<Int>] = [:], skip: Set<Int> = []) -> [(shard: Int, worker: Peer)] {
        var out: [(Int, Peer)] = []
        let liveSet = Set(live)
        let want = min(replication, live.count)
        let cap = live.isEmpty ? 0 : (shards.count * want + live.count - 1) / live.count
        for i in shards.indices {
            shards[i].assigned.removeAll { !liveSet.contains($0) }
            shards[i].ready = shards[i].ready.filter { liveSet.contains($0) }
            while shards[i].assigned.count < want && !skip.contains(i) {
                let candidates = live.filter { !shards[i].assigned.contains($0) }
                func key(_ w: Peer) -> (Int, Int, Peer) {
                    let l = load(of: w)
                    return ((held[w]?.contains(i) ?? false) && l < cap ? 0 : 1, l, w)
                }
                guard let w = candidates.min(by: { key($0) < key($1) }) else { break }
                shards[i].assigned.append(w)
                out.append((i, w))
            }
        }
        return out
    }

    /// Moves (by copying first) shard replicas from the most to the least loaded live worker while
    /// their loads differ by more than one. The new replica is added now; the old one is only
    /// dropped by `dropSurplus` once the new one is ready, so queries never lose the shard.
    public mutating func rebalance(live: [Peer]) -> [(shard: Int, worker: Peer)] {
        var out: [(Int, Peer)] = []
        guard live.count >= 2 else { return out }
        for _ in 0..<(shards.count * replication) {
            let loads = live.map { (w: $0, l: effectiveLoad(of: $0)) }
            guard let most = loads.max(by: { ($0.l, $1.w) < ($1.l, $0.w) }), let least = loads.min(by: { ($0.l, $0.w) < ($1.l, $1.w) }),
                  most.l - least.l > 1 else { break }
            // a shard of `most` that `least` does not have and that is not already moving
            guard let i = shards.indices.first(where: { shards[$0].assigned.contains(most.w) && !shards[$0].assigned.contains(least.w)
                                                         && shards[$0].assigned.count <= replication }) else { break }
            // The source goes first: the oldest replica is the one `dropSurplus` removes.
            shards[i].assigned.removeAll { $0 == most.w }
            shards[i].assigned.insert(most.w, at: 0)
            shards[i].assigned.append(least.w)
            out.append((i, least.w))
        }
        return out
    }

    /// Load counting a shard in transit only on its destination.
    func effectiveLoad(of w: Peer) -> Int {
        shards.reduce(0) { acc, s in
            guard let pos = s.assigned.firstIndex(of: w) else { return acc }
            // surplus replicas: the earliest assigned ones beyond `replication` are leaving
            let surplus = s.assigned.count - replication
            return acc + (pos < surplus ? 0 : 1)
        }
    }

    /// Replicas to drop: for shards holding more than `replication` assignments, the oldest
    /// ones, but only once as many newer replicas are ready.
    public mutating func dropSurplus() -> [(shard: Int, worker: Peer)] {
        var out: [(Int, Peer)] = []
        for i in shards.indices {
            while shards[i].assigned.count > replication {
                let newer = shards[i].assigned.dropFirst()
                guard newer.filter({ shards[i].ready.contains($0) }).count >= replication else { break }
                let old = shards[i].assigned.removeFirst()
                shards[i].ready.remove(old)
                out.append((i, old))
            }
        }
        return out
    }

    /// Marks a replica ready; false when the worker is no longer assigned the shard (a late reply).
    @discardableResult
    public mutating func markReady(shard: Int, worker: Peer) -> Bool {
        guard shards.indices.contains(shard), shards[shard].assigned.contains(worker) else { return false }
        shards[shard].ready.insert(worker)
        return true
    }

    /// Forgets an assignment that failed.
    public mutating func unassign(shard: Int, worker: Peer) {
        guard shards.indices.contains(shard) else { return }
        shards[shard].assigned.removeAll { $0 == worker }
        shards[shard].ready.remove(worker)
    }

    /// Removes a dead worker everywhere.
    public mutating func remove(worker: Peer) {
        for i in shards.indices { shards[i].assigned.removeAll { $0 == worker }; shards[i].ready.remove(worker) }
    }

    /// Worker drain (CoordinatorDrain.swift): copies each shard `leaving` holds onto `targets`
    /// (least loaded first) until it has min(replication, possible) replicas besides `leaving`,
    /// which stays assigned and ready (serving the shard) meanwhile, first in line to be dropped.
    /// A shard whose other replicas are all ready lets `leaving` go (it is no longer assigned).
    /// Returns the new (shard, worker) assignments to send and the shards `leaving` released.
    public mutating func handOver(from leaving: Peer, to targets: [Peer]) -> (assign: [(shard: Int, worker: Peer)], released: [Int]) {
        var assign: [(Int, Peer)] = [], released: [Int] = []
        for i in shards.indices where shards[i].assigned.contains(leaving) {
            shards[i].assigned.removeAll { $0 == leaving }
            shards[i].assigned.insert(leaving, at: 0)
            while shards[i].assigned.count - 1 < replication {
                guard let t = targets.filter({ !shards[i].assigned.contains($0) }).min(by: { (load(of: $0), $0) < (load(of: $1), $1) }) else { break }
                shards[i].assigned.append(t)
                assign.append((i, t))
            }
            let others = shards[i].assigned.dropFirst()
            if !others.isEmpty && others.allSatisfy({ shards[i].ready.contains($0) }) {
                shards[i].assigned.removeFirst()
                shards[i].ready.remove(leaving)
                released.append(i)
            }
        }
        return (assign, released)
    }

    /// Ready replicas of a shard, in a stable order.
    public func readyReplicas(_ shard: Int) -> [Peer] { shards[shard].ready.sorted() }
}
