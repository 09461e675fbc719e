import Foundation
import Cluster
import Wire

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

/// `strata cluster up`: a whole local cluster (coordinator + N workers) in the foreground.
enum ClusterCommand: Subcommand {
    static let name = "cluster"
    static let summary = "start a local cluster (coordinator + N workers) serving a corpus"
    static let usage = """
    usage: strata cluster up --workers N --corpus FILE --model DIR [--ce DIR] [--bind ADDR]
                             [--replication R] [--shards S] [--data-dir DIR] [--keys DIR] [--jobs-root DIR]
                             [--retrieval-layer K] [--http HOST:PORT] [--max-client-batch N] [--max-body-bytes N]
                             [--max-concurrent-requests N] [--auto-truncate] [--grace S] [--precision fp32|bf16|int8]
                             [--query-embedding coordinator|workers]
           strata cluster status --coordinator ADDR [--keys DIR]   (workers, shards, indexing progress with rate and ETA)
           strata cluster bench --corpus FILE [--queries FILE] [--model DIR] [--docs N] [--nqueries N] [--workers 1,2]
                                (the same as `strata bench cluster`: latency, QPS, merge and job throughput
                                against single-process runs measured in the same run)

      Starts a coordinator and N worker processes of this binary, shards the corpus over the
      workers (each shard embedded by a worker with --model and kept in its checksummed store),
      prints one line `ready ADDR` once every shard is indexed, and serves until SIGINT/SIGTERM,
      then stops every process it started.
      --bind ADDR       coordinator endpoint (default tcp://127.0.0.1:0, an ephemeral port)
      --ce DIR          cross encoder for `strata search --rerank`
      --retrieval-layer K  one CE for both stages: --model is a cross encoder; its layer-K self-pair
                        embeddings index the corpus and the queries, and it re-ranks (one model per worker)
      --replication R   copies of each shard (default 1)
      --shards S        number of shards (default 2 per worker)
      --data-dir DIR    where the coordinator and workers keep their state (default: a temporary directory)
      --keys DIR        CURVE keys from `strata keys gen` (encrypt and authenticate every socket)
      --jobs-root DIR   batch jobs' corpora and outputs must resolve inside DIR (default: the working directory)
      --max-top-k N     largest top_k a search may ask for (default \(ProtocolConstants.defaultMaxTopK))
      --max-rerank N    largest re-rank depth (default \(ProtocolConstants.defaultMaxRerank))
      While the shards are embedded it prints their progress on stderr (a line per shard ready; shards,
      documents, docs/s and ETA at least every 10 s).
      --http HOST:PORT  the coordinator also serves HTTP (see `strata coordinator --help`); prints
                        `http http://HOST:PORT` before `ready`. The other serving flags go to the coordinator.
      --precision P     fp32 (default), bf16 or int8: passed to every worker (`strata worker --precision`)
                        and to the coordinator's query encoder
      --query-embedding W  coordinator (default) or workers embed the queries (`strata coordinator --help`)
      --compute-nice N  workers' forward passes at nice N (`strata worker --help`)
      On SIGINT/SIGTERM the coordinator drains first (up to --grace seconds, default 10), then the workers stop.
    """

    static func run(_ args: [String]) throws {
        if args.first == "bench" { return try runClusterBench(Array(args.dropFirst())) }
        if args.first == "status" { return try ClusterProgress.statusCommand(Array(args.dropFirst())) }
        guard args.first == "up" else { throw CLIError("cluster actions: `up`, `status`, `bench` (strata cluster --help)", usage: true) }
        let a = try Arguments(Array(args.dropFirst()), command: "cluster up",
                              options: ["workers", "corpus", "model", "ce", "bind", "replication", "shards", "data-dir", "keys", "jobs-root",
                                        "max-top-k", "max-rerank", "retrieval-layer", "precision",
                                        "http", "max-client-batch", "max-body-bytes", "max-concurrent-requests", "grace", "query-embedding",
                                        "http-max-connections", "http-max-connections-per-ip", "http-idle-timeout", "compute-nice"],
                              flags: ["auto-truncate"])
        let n = try a.int("workers", default: 2, min: 1, max: 64)!
        _ = try PrecisionOption.parse(a)   // checked here; each worker gets the flag as given
        let corpus = absolutePath(try a.required("corpus"))
        let model = try resolveModelArgument(try a.required("model"), flag: "model")
        let jobsRoot = absolutePath(a.string("jobs-root") ?? FileManager.default.currentDirectoryPath)
        if a.string("jobs-root") == nil { note("cluster: batch jobs are confined to the working directory \(jobsRoot) (--jobs-root DIR to choose)") }
        let replication = try a.int("replication", default: 1, min: 1, max: 64)!
        let shards = try a.int("shards", default: n * ProtocolConstants.defaultShardsPerWorker, min: 1, max: 4096)!
        let dataDir = a.string("data-dir").map(absolutePath) ?? NSTemporaryDirectory() + "strata-cluster-\(getpid())"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        installStopSignals()
        let exe = selfExecutable()
        let endpointFile = dataDir + "/coordinator.endpoint"
        try? FileManager.default.removeItem(atPath: endpointFile)
        var coordArgs = ["coordinator", "--bind", a.string("bind") ?? "tcp://127.0.0.1:0", "--data-dir", dataDir + "/coordinator",
                         "--corpus", corpus, "--model", model, "--replication", String(replication), "--shards", String(shards),
                         "--endpoint-file", endpointFile, "--jobs-root", jobsRoot]
        if let ce = a.string("ce") { coordArgs += ["--ce", try resolveModelArgument(ce, flag: "ce")] }
        for cap in ["max-top-k", "max-rerank"] {
            if let v = try a.int(cap, min: 1, max: ProtocolConstants.maxTopKLimit) { coordArgs += ["--\(cap)", String(v)] }
        }
        if let k = try a.int("retrieval-layer", min: 0, max: 1024) { coordArgs += ["--retrieval-layer", String(k)] }
        if let k = a.string("keys") { coordArgs += ["--keys", absolutePath(k)] }
        let httpFile = dataDir + "/coordinator.http"
        try? FileManager.default.removeItem(atPath: httpFile)
        if a.string("http") != nil { coordArgs += ["--http-endpoint-file", httpFile] }
        for o in ["http", "max-client-batch", "max-body-bytes", "max-concurrent-requests", "grace", "query-embedding", "precision",
                  "http-max-connections", "http-max-connections-per-ip", "http-idle-timeout"] {
            if let v = a.string(o) { coordArgs += ["--" + o, v] }
        }
        if a.flag("auto-truncate") { coordArgs.append("--auto-truncate") }
        let grace = try a.double("grace", default: 10)!
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
            if let p = a.string("precision") { w += ["--precision", p] }
            if let v = a.string("compute-nice") { w += ["--compute-nice", v] }
            try spawn(w)
        }
        let client = try ClusterClient(endpoint: endpoint, keys: try curveKeys(a))
        var announced = false
        var progress = ClusterProgress.Follower()
        while stopSignal == 0 {
            if !children[0].isRunning { note("cluster: the coordinator exited"); break }
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
