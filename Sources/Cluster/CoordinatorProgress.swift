import Wire

/// Indexing progress of the served corpus (shards assigned, indexed, rate and ETA) for
/// ClusterStatusReply, which `cluster up` and `strata cluster status` print.
extension Coordinator {
    /// The ClusterStatusReply at `now`.
    public func clusterStatus(_ now: Double) -> ClusterStatusReply {
        guard !corpus.isEmpty else { return ClusterStatusReply(workersLive: membership.workers.count, shardsTotal: 0, shardsReady: 0, ready: ready) }
        let shards = shardMap.shards.map { sh in
            ShardProgress(shardID: sh.id, documents: sh.range.count, replicasReady: sh.ready.count, replicasWanted: config.replication,
                          indexingSeconds: placement.assignSent[sh.id]?.values.min().map { max(0, now - $0) } ?? 0, doneSeconds: placement.shardDoneSeconds[sh.id] ?? 0)
        }
        let docsReady = shards.filter { $0.replicasReady > 0 }.reduce(0) { $0 + $1.documents }
        var rate = 0.0
        if let t0 = placement.indexingStart, now > t0, placement.indexedSinceStart > 0 { rate = Double(placement.indexedSinceStart) / (now - t0) }
        let eta = ready ? 0 : (rate > 0 ? Double(corpus.count - docsReady) / rate : -1)
        return ClusterStatusReply(workersLive: membership.workers.count, shardsTotal: shardMap.shards.count, shardsReady: shardsReady, ready: ready,
                                  docsTotal: corpus.count, docsReady: docsReady, docsPerSecond: rate, etaSeconds: eta, shards: shards)
    }
}
