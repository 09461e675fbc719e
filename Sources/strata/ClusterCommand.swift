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
                             [--replication R] [--shards S] [--data-dir DIR] [--keys DIR]
                             [--precision fp32|bf16|int8]
           strata cluster bench --corpus FILE [--queries FILE] [--model DIR] [--docs N] [--nqueries N] [--workers 1,2]
                                (the same as `strata bench cluster`: latency, QPS, merge and job throughput
                                against single-process runs measured in the same run)

      Starts a coordinator and N worker processes of this binary, shards the corpus over the
      workers (each shard embedded by a worker with --model and kept in its checksummed store),
      prints one line `ready ADDR` once every shard is indexed, and serves until SIGINT/SIGTERM,
      then stops every process it started.
      --bind ADDR       coordinator endpoint (default tcp://127.0.0.1:0, an ephemeral port)
      --ce DIR          cross encoder for `strata search --rerank`
      --replication R   copies of each shard (default 1)
      --shards S        number of shards (default 2 per worker)
      --data-dir DIR    where the coordinator and workers keep their state (default: a temporary directory)
      --keys DIR        CURVE keys from `strata keys gen` (encrypt and authenticate every socket)
      --precision P     fp32 (default), bf16 or int8: passed to every worker (`strata worker --precision`)
    """

    static func run(_ args: [String]) throws {
        if args.first == "bench" { return try runClusterBench(Array(args.dropFirst())) }
        guard args.first == "up" else { throw CLIError("cluster actions: `up`, `bench` (strata cluster --help)", usage: true) }
        let a = try Arguments(Array(args.dropFirst()), command: "cluster up",
                              options: ["workers", "corpus", "model", "ce", "bind", "replication", "shards", "data-dir", "keys", "precision"])
        let n = try a.int("workers", default: 2, min: 1, max: 64)!
        _ = try PrecisionOption.parse(a)   // checked here; each worker gets the flag as given
        let corpus = absolutePath(try a.required("corpus"))
        let model = try a.required("model")
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
                         "--endpoint-file", endpointFile]
        if let ce = a.string("ce") { coordArgs += ["--ce", ce] }
        if let k = a.string("keys") { coordArgs += ["--keys", absolutePath(k)] }
        var children: [Process] = []
        func spawn(_ args: [String]) throws {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = args
            try p.run()
            children.append(p)
        }
        func stopChildren() {
            for p in children where p.isRunning { kill(p.processIdentifier, SIGTERM) }
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
            try spawn(w)
        }
        let client = try ClusterClient(endpoint: endpoint, keys: try curveKeys(a))
        var announced = false
        while stopSignal == 0 {
            if !children[0].isRunning { note("cluster: the coordinator exited"); break }
            if !announced, case .clusterStatusReply(let s)? = try? client.call(.clusterStatusRequest, timeout: 2), s.ready {
                print("ready \(endpoint)")
                fflush(stdout)
                announced = true
            }
            usleep(announced ? 200_000 : 100_000)
        }
        note("cluster: shutting down")
        stopChildren()
    }
}
