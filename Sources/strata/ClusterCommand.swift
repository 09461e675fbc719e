import Foundation
import Cluster
import Wire
import CommandLineFlags
import Model

/// Set by SIGINT / SIGTERM; long-running cluster commands poll it and shut down cleanly.
nonisolated(unsafe) var stopSignal: sig_atomic_t = 0

/// Installs the SIGINT/SIGTERM handler that sets `stopSignal`.
func installStopSignals() {
    signal(SIGINT) { _ in stopSignal = 1 }
    signal(SIGTERM) { _ in stopSignal = 1 }
    signal(SIGPIPE, SIG_IGN)
}

/// CURVE keys from `--keys DIR`, if given.
func curveKeys(_ a: Arguments) throws -> CurveKeys? {
    guard let dir = a.string("keys") else { return nil }
    return try CurveKeys.load(from: URL(fileURLWithPath: dir))
}

/// An absolute path (the coordinator may run in another directory).
func absolutePath(_ p: String) -> String {
    p.hasPrefix("/") ? p : FileManager.default.currentDirectoryPath + "/" + p
}

/// The path of the running `strata` binary (to start more of it).
func selfExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// `strata cluster up|status|bench`: a whole local cluster, its progress, and its benchmark.
enum ClusterCommand {
    static let group = CommandGroup("cluster", summary: "start a local cluster (coordinator + N workers) serving a corpus; its status; its benchmark")
}

/// `strata cluster up`: a whole local cluster (coordinator + N workers) in the foreground.
enum ClusterUpCommand: Subcommand {
    static let spec = CommandSpec("cluster up", summary: "start a coordinator and N workers serving a corpus, in the foreground", flags: [
        .int("workers", default: 2, min: 1, max: 64, help: "worker processes"),
        .path("corpus", "FILE", required: true, help: "corpus to serve (.jsonl BEIR or a text per line)"),
        .string("model", "DIR", required: true, help: "the dual encoder that embeds the corpus and the queries (a directory, a name in $STRATA_MODELS or a Hugging Face id)"),
        .string("ce", "DIR", help: "cross encoder for `strata search --rerank`"),
        .string("bind", "ADDR", default: "tcp://127.0.0.1:0", help: "coordinator endpoint (the default is an ephemeral port)"),
        .int("replication", "R", default: 1, min: 1, max: 64, help: "copies of each shard"),
        .int("shards", "S", defaultNote: "\(ProtocolConstants.defaultShardsPerWorker) per worker", min: 1, max: 4096, help: "number of shards"),
        .path("data-dir", "DIR", defaultNote: "a temporary directory", help: "where the coordinator and workers keep their state"),
        CommonFlags.keys,
        .path("jobs-root", "DIR", defaultNote: "the working directory", help: "batch jobs' corpora and outputs must resolve inside DIR"),
        .int("max-top-k", default: ProtocolConstants.defaultMaxTopK, min: 1, max: ProtocolConstants.maxTopKLimit, help: "largest top_k a search may ask for"),
        .int("max-rerank", default: ProtocolConstants.defaultMaxRerank, min: 1, max: ProtocolConstants.maxTopKLimit, help: "largest re-rank depth"),
        .int("retrieval-layer", "K", min: 0, max: 1024, help: "one CE for both stages: --model is a cross encoder; its layer-K self-pair embeddings index the corpus and the queries, and it re-ranks (one model per worker)"),
        CommonFlags.precision("passed to every worker (`strata worker --precision`) and to the coordinator's query encoder"),
        .choice("query-embedding", ["coordinator", "workers"], default: "coordinator", help: "who embeds the queries: passed to the coordinator (see `strata coordinator --help`)"),
        .int("query-cache", default: 10_000, min: 0, max: 10_000_000, help: "query embeddings the coordinator caches: passed to the coordinator (see `strata coordinator --help`)"),
        // 19 here, 0 for `strata worker`: the workers of `cluster up` share the machine with the
        // coordinator's query encoder (README "Serving over HTTP": /search p99 during a job).
        .int("compute-nice", default: 19, min: 0, max: 19, help: "the workers' --compute-nice: their forward passes (job chunks, indexing, re-ranks) run at nice N so the coordinator's query embedding and shard searches on this machine go first (0: same priority)"),
        .string("http", "HOST:PORT", help: "the coordinator also serves HTTP (see `strata coordinator --help`); prints `http http://HOST:PORT` before `ready`"),
        .int("max-client-batch", min: 1, max: 100_000, help: "passed to the coordinator (see `strata coordinator --help`)"),
        .int("max-body-bytes", min: 1024, max: 1 << 30, help: "passed to the coordinator"),
        .int("max-concurrent-requests", min: 1, max: 1_000_000, help: "passed to the coordinator"),
        .bool("auto-truncate", help: "passed to the coordinator"),
        .int("http-max-connections", min: 1, max: 100_000, help: "passed to the coordinator"),
        .int("http-max-connections-per-ip", min: 1, max: 100_000, help: "passed to the coordinator"),
        .int("http-idle-timeout", "S", min: 1, max: 86_400, help: "passed to the coordinator"),
        .double("grace", "S", default: 10, .atLeast(0), help: "on SIGINT/SIGTERM the coordinator drains first (up to S seconds), then the workers stop"),
    ], details: """
      Starts a coordinator and N worker processes of this binary, shards the corpus over the
      workers (each shard embedded by a worker with --model and kept in its checksummed store),
      prints one line `ready ADDR` once every shard is indexed, and serves until SIGINT/SIGTERM,
      then stops every process it started. While the shards are embedded it prints their progress
      on stderr (a line per shard ready; shards, documents, docs/s and ETA at least every 10 s).
    """)

    static func run(_ a: Arguments) throws {
        let n = a.int("workers")!
        _ = try PrecisionOption.parse(a)   // checked here; each worker gets the flag as given
        let corpus = absolutePath(a.value("corpus"))
        let model = try resolveModelArgument(a.value("model"), flag: "model")
        if a.isGiven("retrieval-layer") {
            // Checked against the model here: workers that cannot load the layer would give up and leave `cluster up` waiting.
            let layers = try BertConfig.load(model + "/config.json").numHiddenLayers
            _ = try a.int("retrieval-layer", within: 0...layers)
        }
        let jobsRoot = absolutePath(a.string("jobs-root") ?? FileManager.default.currentDirectoryPath)
        if a.string("jobs-root") == nil { note("cluster: batch jobs are confined to the working directory \(jobsRoot) (--jobs-root DIR to choose)") }
        let replication = a.int("replication")!
        let shards = a.int("shards") ?? n * ProtocolConstants.defaultShardsPerWorker
        let dataDir = a.string("data-dir").map(absolutePath) ?? NSTemporaryDirectory() + "strata-cluster-\(getpid())"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        installStopSignals()
        let exe = selfExecutable()
        let endpointFile = dataDir + "/coordinator.endpoint"
        try? FileManager.default.removeItem(atPath: endpointFile)
        var coordArgs = ["coordinator", "--bind", a.value("bind"), "--data-dir", dataDir + "/coordinator",
                         "--corpus", corpus, "--model", model, "--replication", String(replication), "--shards", String(shards),
                         "--endpoint-file", endpointFile, "--jobs-root", jobsRoot]
        if let ce = a.string("ce") { coordArgs += ["--ce", try resolveModelArgument(ce, flag: "ce")] }
        // Flags the coordinator has too are passed on only when given (the coordinator applies its own defaults).
        for cap in ["max-top-k", "max-rerank"] {
            if let v = a.given(cap) { coordArgs += ["--\(cap)", v] }
        }
        if let k = a.int("retrieval-layer") { coordArgs += ["--retrieval-layer", String(k)] }
        if let k = a.string("keys") { coordArgs += ["--keys", absolutePath(k)] }
        let httpFile = dataDir + "/coordinator.http"
        try? FileManager.default.removeItem(atPath: httpFile)
        if a.string("http") != nil { coordArgs += ["--http-endpoint-file", httpFile] }
        for o in ["http", "max-client-batch", "max-body-bytes", "max-concurrent-requests", "grace", "query-embedding", "query-cache", "precision",
                  "http-max-connections", "http-max-connections-per-ip", "http-idle-timeout"] {
            if let v = a.given(o) { coordArgs += ["--" + o, v] }
        }
        if a.flag("auto-truncate") { coordArgs.append("--auto-truncate") }
        let grace = a.double("grace")!
        var children: [Process] = []
        func spawn(_ args: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = args
            try p.run()
            children.append(p)
        }
        func stopChildren() {
            // The coordinator first: it drains (answers what is in flight) while the workers still run.
            if let c = children.first, c.isRunning {
                kill(c.processIdentifier, SIGTERM)
                let end = Date().addingTimeInterval(grace + 5)
                while c.isRunning && Date() < end { usleep(20_000) }
            }
            // Then the workers stop at once (SIGINT) instead of draining (SIGTERM): the whole cluster stops.
            for p in children where p.isRunning { kill(p.processIdentifier, SIGINT) }
            let end = Date().addingTimeInterval(5)
            while children.contains(where: { $0.isRunning }) && Date() < end { usleep(20_000) }
            for p in children where p.isRunning { kill(p.processIdentifier, SIGKILL) }
        }
        try spawn(coordArgs)
        var endpoint = ""
        let start = Date()
        while endpoint.isEmpty {
            if stopSignal != 0 || !children[0].isRunning { stopChildren(); throw CLIError("the coordinator did not start") }
            endpoint = (try? String(contentsOfFile: endpointFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if endpoint.isEmpty { usleep(20_000) }
            if Date().timeIntervalSince(start) > 30 { stopChildren(); throw CLIError("the coordinator did not report its endpoint in 30 s") }
        }
        for i in 0..<n {
            var w = ["worker", "--coordinator", endpoint, "--data-dir", dataDir + "/worker-\(i)"]
            if let k = a.string("keys") { w += ["--keys", absolutePath(k)] }
            if let p = a.given("precision") { w += ["--precision", p] }
            w += ["--compute-nice", String(a.int("compute-nice")!)]
            try spawn(w)
        }
        let client = try ClusterClient(endpoint: endpoint, keys: try curveKeys(a))
        var announced = false
        var progress = ClusterProgress.Follower()
        while stopSignal == 0 {
            if !children[0].isRunning { note("cluster: the coordinator exited"); break }
            if !announced && children.count > 1 && !children.dropFirst().contains(where: { $0.isRunning }) {
                stopChildren()
                throw CLIError("every worker exited before the cluster was ready (their messages are above)")
            }
            if !announced, case .clusterStatusReply(let s)? = try? client.call(.clusterStatusRequest, timeout: 2) {
                progress.update(s)
                if s.ready {
                    if let http = (try? String(contentsOfFile: httpFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) {
                        print("http \(http)")
                    }
                    print("ready \(endpoint)")
                    fflush(stdout)
                    announced = true
                }
            }
            usleep(announced ? 200_000 : 100_000)
        }
        note("cluster: shutting down")
        stopChildren()
    }
}
