import Foundation
import Cluster

/// `strata worker`: serves embeddings, shard search, re-ranking and job chunks to a coordinator.
enum WorkerCommand: Subcommand {
    static let name = "worker"
    static let summary = "run a cluster worker (embeds, searches its shards, re-ranks, runs job chunks)"
    static let usage = """
    usage: strata worker --coordinator tcp://HOST:PORT [--data-dir DIR] [--keys DIR] [--id ID] [--quiet]
                        [--precision fp32|bf16|int8]

      --coordinator ADDR   the coordinator's endpoint
      --data-dir DIR       where the worker keeps its shard stores (default: a temporary directory)
      --keys DIR           CURVE: server.pub, client.pub and client.key from `strata keys gen`
      --id ID              worker id (default host:pid:random)
      --quiet              no progress or event lines on stderr
      --precision P        fp32 (default), bf16 or int8 for every model this worker loads
    Heartbeats every second; reconnects with back-off when the coordinator goes silent.
    """

    static func run(_ args: [String]) throws {
        let a = try Arguments(args, command: name, options: ["coordinator", "data-dir", "keys", "id", "precision"], flags: ["quiet"])
        let dir = a.string("data-dir") ?? NSTemporaryDirectory() + "strata-worker-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let quiet = a.flag("quiet")
        installStopSignals()
        let server = try WorkerServer(coordinator: try a.required("coordinator"),
                                      service: WorkerService(engine: ModelEngine(precision: try PrecisionOption.parse(a)), dataDir: URL(fileURLWithPath: dir)),
                                      keys: try curveKeys(a), workerID: a.string("id"),
                                      log: { if !quiet { note("worker: " + $0) } })
        try server.run(until: { stopSignal != 0 })
    }
}
