import Wire

/// Indexing progress of the served corpus (shards assigned, indexed, rate and ETA) for
/// ClusterStatusReply, which `cluster up` and `strata cluster status` print.
extension Coordinator {
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

    /// The ClusterStatusReply at `now`.
    public func clusterStatus(_ now: Double) -> ClusterStatusReply {
        guard !corpus.isEmpty else { return ClusterStatusReply(workersLive: workers.count, shardsTotal: 0, shardsReady: 0, ready: ready) }
        let shards = shardMap.shards.map { sh in
            ShardProgress(shardID: sh.id, documents: sh.range.count, replicasReady: sh.ready.count, replicasWanted: config.replication,
                          indexingSeconds: assignSent[sh.id]?.values.min().map { max(0, now - $0) } ?? 0, doneSeconds: shardDoneSeconds[sh.id] ?? 0)
        }
        let docsReady = shards.filter { $0.replicasReady > 0 }.reduce(0) { $0 + $1.documents }
        var rate = 0.0
        if let t0 = indexingStart, now > t0, indexedSinceStart > 0 { rate = Double(indexedSinceStart) / (now - t0) }
        let eta = ready ? 0 : (rate > 0 ? Double(corpus.count - docsReady) / rate : -1)
        return ClusterStatusReply(workersLive: workers.count, shardsTotal: shardMap.shards.count, shardsReady: shardsReady, ready: ready,
                                  docsTotal: corpus.count, docsReady: docsReady, docsPerSecond: rate, etaSeconds: eta, shards: shards)
    }
}
