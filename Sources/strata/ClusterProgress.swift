import Foundation
import Cluster
import Wire
import CommandLineFlags

/// Indexing progress of a served corpus, from ClusterStatusReply: the lines `cluster up` prints on
/// stderr while shards are embedded, and `strata cluster status`.
enum ClusterProgress {
    static func eta(_ seconds: Double) -> String {
        guard seconds >= 0 else { return "ETA ?" }
        return seconds < 120 ? String(format: "ETA %.0f s", seconds) : String(format: "ETA %.0f min", seconds / 60)
    }

    /// One summary line: shards and documents ready, rate, ETA.
    static func summary(_ s: ClusterStatusReply) -> String {
        String(format: "indexing: %d/%d shards ready, %d/%d documents, %.1f docs/s, %@ (%d workers)",
               s.shardsReady, s.shardsTotal, s.docsReady, s.docsTotal, s.docsPerSecond, eta(s.etaSeconds), s.workersLive)
    }

    /// One line per shard.
    static func shardLine(_ p: ShardProgress) -> String {
        var line = String(format: "  shard %d: %d documents, %d/%d replicas ready", p.shardID, p.documents, p.replicasReady, p.replicasWanted)
        if p.indexingSeconds > 0 { line += String(format: ", assigned %.0f s ago", p.indexingSeconds) }
        if p.doneSeconds > 0 {
            line += String(format: ", last indexed in %.1f s (%.1f docs/s)", p.doneSeconds, Double(p.documents) / p.doneSeconds)
        }
        return line
    }

    /// Follows progress while `cluster up` waits: a line per shard as it becomes ready, and the
    /// summary when something changed or every `every` seconds.
    struct Follower {
        var readyShards: Set<Int> = []
        var lastSummary = Date.distantPast
        var lastReady = -1
        let every: Double

        init(every: Double = 10) { self.every = every }

        mutating func update(_ s: ClusterStatusReply) {
            for p in s.shards where p.replicasReady > 0 && !readyShards.contains(p.shardID) {
                readyShards.insert(p.shardID)
                note("cluster: shard \(p.shardID) ready" + (p.doneSeconds > 0
                    ? String(format: " (%d documents in %.1f s, %.1f docs/s)", p.documents, p.doneSeconds, Double(p.documents) / p.doneSeconds) : ""))
            }
            guard s.shardsTotal > 0 else { return }
            if s.shardsReady != lastReady || Date().timeIntervalSince(lastSummary) >= every {
                lastReady = s.shardsReady
                lastSummary = Date()
                note("cluster: " + summary(s))
            }
        }
    }

    /// `strata cluster status --coordinator ADDR [--keys DIR]`.
    static func statusCommand(_ a: Arguments) throws {
        let timeout = a.double("timeout")!
        let client = try ClusterClient(endpoint: a.value("coordinator"), keys: try curveKeys(a))
        guard case .clusterStatusReply(let s) = try client.call(.clusterStatusRequest, timeout: timeout) else { throw CLIError("unexpected reply") }
        print("\(s.ready ? "ready" : "not ready"): \(s.workersLive) live workers, \(s.shardsReady)/\(s.shardsTotal) shards ready")
        if s.shardsTotal > 0 {
            print(summary(s))
            for p in s.shards { print(shardLine(p)) }
        }
    }
}

/// `strata cluster status`: workers, shards and indexing progress of a running cluster.
enum ClusterStatusCommand: Subcommand {
    static let spec = CommandSpec("cluster status", summary: "a running cluster's workers, shards and indexing progress (rate and ETA)", flags: [
        CommonFlags.coordinator(),
        CommonFlags.keys,
        .double("timeout", "S", default: 10, .aboveAtMost(0, maxCommandTimeout), help: "seconds to wait for the coordinator's answer"),
    ])

    static func run(_ a: Arguments) throws { try ClusterProgress.statusCommand(a) }
}
