import Foundation
import Cluster
import CommandLineFlags

/// Set by SIGTERM (the first one): the worker drains and leaves.
nonisolated(unsafe) var leaveSignal: sig_atomic_t = 0

/// `strata worker`: serves embeddings, shard search, re-ranking and job chunks to a coordinator.
enum WorkerCommand: Subcommand {
    static let spec = CommandSpec("worker", summary: "run a cluster worker (embeds, searches its shards, re-ranks, runs job chunks)", flags: [
        CommonFlags.coordinator(),
        .path("data-dir", "DIR", defaultNote: "a temporary directory", help: "where the worker keeps its shard stores"),
        .path("keys", "DIR", help: "CURVE: server.pub, worker.pub and worker.key from `strata keys gen`"),
        .string("id", "ID", defaultNote: "host:pid:random", help: "worker id"),
        .int("max-batch-tokens", default: 16_384, min: 1, max: 1 << 24, help: "token budget of one serving forward pass: waiting query embeddings (and waiting re-rank pairs) are gathered up to it; longer requests advance by slices of it, their deadline checked between slices"),
        .double("drain-timeout", "S", default: ProtocolConstants.workerDrainTimeout, .above(0), help: "longest a SIGTERM drain may take, in seconds"),
        CommonFlags.precision("for every model this worker loads"),
        .int("compute-nice", default: 0, min: 0, max: 19, help: "run forward passes (job chunks, indexing, re-ranks) at nice N: shard searches and the coordinator's query embedding go first on a shared machine"),
        .bool("quiet", help: "no progress or event lines on stderr"),
    ], details: """
    Heartbeats every second; reconnects with back-off when the coordinator goes silent. Serving
    requests go before job chunks, which run one engine batch at a time.
    SIGTERM drains: the worker tells the coordinator it is leaving, keeps answering until the
    coordinator has moved its shards to other workers, finishes its work in hand and exits 0
    (a second SIGTERM, or SIGINT, stops at once).
    """)

    static func run(_ a: Arguments) throws {
        let dir = a.string("data-dir") ?? NSTemporaryDirectory() + "strata-worker-\(getpid())"
        let maxBatchTokens = a.int("max-batch-tokens")!
        let drainTimeout = a.double("drain-timeout")!
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let quiet = a.flag("quiet")
        installStopSignals()
        signal(SIGTERM) { _ in if leaveSignal != 0 { stopSignal = 1 } else { leaveSignal = 1 } }
        let service = WorkerService(engine: ModelEngine(precision: try PrecisionOption.parse(a)), dataDir: URL(fileURLWithPath: dir))
        service.maxBatchTokens = maxBatchTokens
        service.computeNice = Int32(a.int("compute-nice")!)
        let server = try WorkerServer(coordinator: a.value("coordinator"), service: service,
                                      keys: try curveKeys(a), workerID: a.string("id"),
                                      log: { if !quiet { note("worker: " + $0) } })
        server.drainTimeout = drainTimeout
        try server.run(until: { stopSignal != 0 }, leave: { leaveSignal != 0 })
    }
}
