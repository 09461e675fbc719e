import Foundation
import Cluster

/// Set by SIGTERM (the first one): the worker drains and leaves.
nonisolated(unsafe) var leaveSignal: sig_atomic_t = 0

/// `strata worker`: serves embeddings, shard search, re-ranking and job chunks to a coordinator.
enum WorkerCommand: Subcommand {
    static let name = "worker"
    static let summary = "run a cluster worker (embeds, searches its shards, re-ranks, runs job chunks)"
    static let usage = """
    usage: strata worker --coordinator tcp://HOST:PORT [--data-dir DIR] [--keys DIR] [--id ID]
                         [--max-batch-tokens N] [--drain-timeout S] [--precision fp32|bf16|int8] [--quiet]
                         [--compute-nice N]

      --coordinator ADDR     the coordinator's endpoint
      --data-dir DIR         where the worker keeps its shard stores (default: a temporary directory)
      --keys DIR             CURVE: server.pub, worker.pub and worker.key from `strata keys gen`
      --id ID                worker id (default host:pid:random)
      --max-batch-tokens N   token budget of one serving forward pass: waiting query embeddings (and
                             waiting re-rank pairs) are gathered up to it; longer requests advance by
                             slices of it, their deadline checked between slices (default 16384)
      --drain-timeout S      longest a SIGTERM drain may take (default 120)
      --precision P          fp32 (default), bf16 or int8 for every model this worker loads
      --compute-nice N       run forward passes (job chunks, indexing, re-ranks) at nice N, 0...19 (default 0):
                             shard searches and the coordinator's query embedding go first on a shared machine
      --quiet                no progress or event lines on stderr
    Heartbeats every second; reconnects with back-off when the coordinator goes silent. Serving
    requests go before job chunks, which run one engine batch at a time.
    SIGTERM drains: the worker tells the coordinator it is leaving, keeps answering until the
    coordinator has moved its shards to other workers, finishes its work in hand and exits 0
    (a second SIGTERM, or SIGINT, stops at once).
    """

    static func run(_ args: [String]) throws {
        let a = try Arguments(args, command: name, options: ["coordinator", "data-dir", "keys", "id", "max-batch-tokens", "drain-timeout", "precision", "compute-nice"], flags: ["quiet"])
        let dir = a.string("data-dir") ?? NSTemporaryDirectory() + "strata-worker-\(getpid())"
        let maxBatchTokens = try a.int("max-batch-tokens", default: 16_384, min: 1, max: 1 << 24)!
        let drainTimeout = try a.double("drain-timeout", default: 120)!
        guard drainTimeout > 0 else { throw CLIError("--drain-timeout must be positive, got \(drainTimeout)") }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let quiet = a.flag("quiet")
        installStopSignals()
        signal(SIGTERM) { _ in if leaveSignal != 0 { stopSignal = 1 } else { leaveSignal = 1 } }
        let service = WorkerService(engine: ModelEngine(precision: try PrecisionOption.parse(a)), dataDir: URL(fileURLWithPath: dir))
        service.maxBatchTokens = maxBatchTokens
        service.computeNice = Int32(try a.int("compute-nice", default: 0, min: 0, max: 19)!)
        let server = try WorkerServer(coordinator: try a.required("coordinator"), service: service,
                                      keys: try curveKeys(a), workerID: a.string("id"),
                                      log: { if !quiet { note("worker: " + $0) } })
        server.drainTimeout = drainTimeout
        try server.run(until: { stopSignal != 0 }, leave: { leaveSignal != 0 })
    }
}
