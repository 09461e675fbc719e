import Foundation
import Formats
import Cluster
import Index
import Kernels
import Model
import Wire
import CommandLineFlags

/// The flags of `strata bench cluster` and of its other name, `strata cluster bench`.
func clusterBenchSpec(_ name: String) -> CommandSpec {
    CommandSpec(name, summary: "query latency and QPS of a local cluster, merge overhead and batch-job docs/s, each against a single-process run measured in the same run", flags: [
        .path("corpus", "FILE", required: true, help: "documents (.jsonl BEIR or a text per line); the first --docs are used"),
        .path("queries", "FILE", defaultNote: "the first 60 characters of the first documents", help: "queries (BEIR queries.jsonl or one a line)"),
        .string("model", "DIR", defaultNote: "the default dual encoder (all-MiniLM-L6-v2)", help: "the dual encoder"),
        .int("docs", default: 500, min: 1, help: "documents indexed"),
        .int("nqueries", default: 100, min: 1, help: "queries run"),
        .intList("workers", default: "1,2", help: "worker counts to measure, one cluster each"),
        .int("shards", defaultNote: "\(ProtocolConstants.defaultShardsPerWorker) per worker", min: 1, help: "shards of each cluster"),
        .int("top", "K", default: 10, min: 1, max: 1000, help: "hits per query"),
    ])
}

/// `strata bench cluster`.
enum BenchClusterCommand: Subcommand {
    static let spec = clusterBenchSpec("bench cluster")
    static func run(_ a: Arguments) throws { try runClusterBench(a) }
}

/// `strata cluster bench`: the same as `strata bench cluster`.
enum ClusterBenchCommand: Subcommand {
    static let spec = clusterBenchSpec("cluster bench")
    static func run(_ a: Arguments) throws { try runClusterBench(a) }
}

/// `strata bench cluster` (also `strata cluster bench`): query latency p50/p99 and QPS with 1 and 2
/// workers against single-process search, the merge's cost against a single-process search, and
/// batch-job docs/s against single-process embedding, all measured in this run on this machine.
func runClusterBench(_ a: Arguments) throws {
    let modelPath = try resolveModelArgument(a.string("model") ?? ModelLocator.defaultDualEncoder.path, flag: "model")
    let docsMax = a.int("docs")!
    let nq = a.int("nqueries")!
    let k = a.int("top")!
    let workerCounts = a.ints("workers")!
    let corpusPath = absolutePath(a.value("corpus"))
    let corpusAll = try CorpusReader.read(corpusPath)
    let corpus = Array(corpusAll.prefix(docsMax))
    let queries: [String] = try a.string("queries").map { try TextRecords.read($0).map(\.text) }.map { Array($0.prefix(nq)) }
        ?? corpus.prefix(nq).map { String($0.text.prefix(60)) }
    let tmp = NSTemporaryDirectory() + "strata-bench-cluster-\(getpid())"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    let corpusFile = tmp + "/corpus.jsonl"
    let corpusText = try corpus.map { d -> String in
        String(decoding: try JSONSerialization.data(withJSONObject: ["_id": d.id, "text": d.text]), as: UTF8.self)
    }.joined(separator: "\n").appending("\n")
    try writeFileAtomically(Data(corpusText.utf8), to: corpusFile)
    print("bench cluster: \(corpus.count) documents, \(queries.count) queries, top \(k), model \(modelPath), \(ProcessInfo.processInfo.activeProcessorCount) cores")

    // Baseline: one process, the same encoder, exact search over one store.
    let enc = try TextEncoder.load(modelPath)
    var t = Date()
    var rows: [Float] = []
    var done = 0
    while done < corpus.count {
        let chunk = corpus[done..<min(corpus.count, done + ProtocolConstants.jobChunkSize)]
        rows += try enc.embed(chunk.map(\.text)).data
        done += chunk.count
    }
    let embedSeconds = Date().timeIntervalSince(t)
    let dim = enc.dimension
    let ids = corpus.map(\.id)
    let flat = FlatIndex(dimension: dim)
    flat.add(Matrix(rows: corpus.count, cols: dim, data: rows))
    var single: [Double] = []
    var searchOnly: [Double] = []
    for q in queries.prefix(5) { _ = try enc.embed([q]) }  // warm-up, as the cluster's workers are warm
    t = Date()
    for q in queries {
        let t0 = Date()
        let qv = try enc.embed([q]).data
        let t1 = Date()
        _ = ExactSearch.search(flat, firstIndex: 0, query: qv, k: k)
        searchOnly.append(Date().timeIntervalSince(t1) * 1000)
        single.append(Date().timeIntervalSince(t0) * 1000)
    }
    let singleQPS = Double(queries.count) / Date().timeIntervalSince(t)
    // Merge cost: the same search as 4 shards, merged, against the single search.
    var mergeMs: [Double] = []
    let qv0 = try enc.embed([queries[0]]).data
    let shards = 4
    let shardIndexes = (0..<shards).map { s -> (FlatIndex, Int, [String]) in
        let lo = corpus.count * s / shards, hi = corpus.count * (s + 1) / shards
        let f = FlatIndex(dimension: dim)
        f.add(Matrix(rows: hi - lo, cols: dim, data: Array(rows[(lo * dim)..<(hi * dim)])))
        return (f, lo, Array(ids[lo..<hi]))
    }
    for _ in 0..<50 {
        let lists = shardIndexes.map { ExactSearch.search($0.0, firstIndex: $0.1, query: qv0, k: k) }
        let tm = Date()
        _ = TopK.merge(lists, k: k)
        mergeMs.append(Date().timeIntervalSince(tm) * 1000)
    }
    func pct(_ xs: [Double], _ p: Double) -> Double { let s = xs.sorted(); return s[min(s.count - 1, Int(Double(s.count) * p))] }
    print(String(format: "single process : embed corpus %.1f docs/s; query p50 %.2f ms p99 %.2f ms, %.1f QPS (search alone p50 %.3f ms)",
                 Double(corpus.count) / embedSeconds, pct(single, 0.5), pct(single, 0.99), singleQPS, pct(searchOnly, 0.5)))
    print(String(format: "merge          : %d shard lists -> top %d in p50 %.4f ms = %.1f%% of a single-process query",
                 shards, k, pct(mergeMs, 0.5), 100 * pct(mergeMs, 0.5) / pct(single, 0.5)))

    let exe = selfExecutable()
    for w in workerCounts {
        var cfg = CoordinatorConfig()
        cfg.deModel = modelPath
        cfg.jobsRoot = try JobsRoot(tmp)  // the job's corpus and output are in tmp
        cfg.placementDelay = 1.0  // as `strata coordinator` (--settle): workers started together share the indexing
        cfg.shardCount = a.int("shards") ?? w * ProtocolConstants.defaultShardsPerWorker
        let server = try CoordinatorServer(bind: "tcp://127.0.0.1:0", dataDir: URL(fileURLWithPath: tmp + "/coord-\(w)"), config: cfg, corpus: corpus)
        /// The stop flag and the server thread's outcome, shared between threads under a lock.
        final class Shared: @unchecked Sendable {
            private let lock = NSLock()
            private var stopFlag = false, finishedFlag = false, failure: String?
            var stop: Bool { lock.lock(); defer { lock.unlock() }; return stopFlag }
            func requestStop() { lock.lock(); stopFlag = true; lock.unlock() }
            var finished: Bool { lock.lock(); defer { lock.unlock() }; return finishedFlag }
            var error: String? { lock.lock(); defer { lock.unlock() }; return failure }
            func finish(_ e: Error?) { lock.lock(); finishedFlag = true; failure = e.map { "\($0)" }; lock.unlock() }
        }
        let shared = Shared()
        let thread = Thread {
            do { try server.run(until: { shared.stop }); shared.finish(nil) } catch { shared.finish(error) }
        }
        thread.start()
        defer {
            shared.requestStop()
            let end = Date().addingTimeInterval(10)
            while !shared.finished && Date() < end { usleep(10_000) }
        }
        var procs: [Process] = []
        for i in 0..<w {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = ["worker", "--coordinator", server.endpoint, "--data-dir", tmp + "/w\(w)-\(i)", "--quiet"]
            try p.run(); procs.append(p)
        }
        defer { for p in procs where p.isRunning { kill(p.processIdentifier, SIGTERM) }; for p in procs { p.waitUntilExit() } }
        let client = try ClusterClient(endpoint: server.endpoint)
        t = Date()
        // Indexing is bounded: at least 2 documents/s per worker process (else something is wrong).
        let readyDeadline = t.addingTimeInterval(max(120, Double(corpus.count) / 2))
        while true {
            if case .clusterStatusReply(let s)? = try? client.call(.clusterStatusRequest, timeout: 5), s.ready { break }
            if let e = shared.error { throw CLIError("the coordinator stopped: \(e)") }
            if procs.allSatisfy({ !$0.isRunning }) { throw CLIError("every worker process exited before the cluster was ready") }
            if Date() > readyDeadline { throw CLIError("the cluster with \(w) worker(s) was not ready after \(Int(readyDeadline.timeIntervalSince(t))) s") }
            usleep(50_000)
        }
        let indexSeconds = Date().timeIntervalSince(t)
        var lat: [Double] = []
        var coordMs: [Double] = []
        var partial = 0
        t = Date()
        for q in queries {
            let t0 = Date()
            guard case .searchReply(let r) = try client.call(.searchRequest(SearchRequest(query: q, topK: k)), timeout: 30) else { throw CLIError("bad reply") }
            lat.append(Date().timeIntervalSince(t0) * 1000)
            coordMs.append(r.totalMs)
            if r.partial { partial += 1 }
        }
        let qps = Double(queries.count) / Date().timeIntervalSince(t)
        print(String(format: "cluster %d wkr  : index %.1f docs/s; query p50 %.2f ms p99 %.2f ms, %.1f QPS (%.2fx single-process p50; inside the coordinator p50 %.2f ms)%@",
                     w, Double(corpus.count) / indexSeconds, pct(lat, 0.5), pct(lat, 0.99), qps, pct(lat, 0.5) / pct(single, 0.5), pct(coordMs, 0.5),
                     partial > 0 ? " [\(partial) partial]" : ""))
        // Batch job over the same corpus.
        t = Date()
        guard case .jobSubmitReply(let sub) = try client.call(.jobSubmitRequest(JobSubmitRequest(corpusPath: corpusFile, model: modelPath, outDir: tmp + "/job-\(w)", chunkSize: max(16, corpus.count / (4 * w)))), timeout: 60) else { throw CLIError("bad reply") }
        let jobDeadline = t.addingTimeInterval(max(120, Double(corpus.count) / 2))
        while true {
            if case .jobStatusReply(let s)? = try? client.call(.jobStatusRequest(JobStatusRequest(jobID: sub.jobID)), timeout: 5) {
                if !s.error.isEmpty { throw CLIError("job \(sub.jobID) failed: \(s.error)") }
                if s.finished { break }
            }
            if let e = shared.error { throw CLIError("the coordinator stopped: \(e)") }
            if Date() > jobDeadline { throw CLIError("job \(sub.jobID) not finished after \(Int(jobDeadline.timeIntervalSince(t))) s") }
            usleep(50_000)
        }
        let jobSeconds = Date().timeIntervalSince(t)
        print(String(format: "job %d wkr      : %.1f docs/s = %.2fx single-process embedding (%d chunks)",
                     w, Double(corpus.count) / jobSeconds, embedSeconds / jobSeconds, sub.chunks))
    }
}
