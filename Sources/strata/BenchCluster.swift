import Foundation
import Cluster
import Index
import Kernels
import Model
import Wire

/// `strata bench cluster` (also `strata cluster bench`): query latency p50/p99 and QPS with 1 and 2
/// workers against single-process search, the merge's cost against a single-process search, and
/// batch-job docs/s against single-process embedding, all measured in this run on this machine.
func runClusterBench(_ args: [String]) throws {
    let a = try Arguments(args, command: "bench cluster", options: ["model", "corpus", "queries", "docs", "nqueries", "workers", "shards", "top"])
    let modelPath = try resolveModelArgument(a.string("model") ?? ModelLocator.defaultDualEncoder.path, flag: "model")
    let docsMax = try a.int("docs", default: 500, min: 1)!
    let nq = try a.int("nqueries", default: 100, min: 1)!
    let k = try a.int("top", default: 10, min: 1, max: 1000)!
    let workerCounts = (a.string("workers") ?? "1,2").split(separator: ",").compactMap { Int($0) }
    let corpusPath = absolutePath(try a.required("corpus"))
    let corpusAll = try CorpusReader.read(corpusPath)
    let corpus = Array(corpusAll.prefix(docsMax))
    let queries: [String] = try a.string("queries").map { try TextRecords.read($0).map(\.text) }.map { Array($0.prefix(nq)) }
        ?? corpus.prefix(nq).map { String($0.text.prefix(60)) }
    let tmp = NSTemporaryDirectory() + "strata-bench-cluster-\(getpid())"
    try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: tmp) }
    let corpusFile = tmp + "/corpus.jsonl"
    try corpus.map { d -> String in
        String(decoding: try JSONSerialization.data(withJSONObject: ["_id": d.id, "text": d.text]), as: UTF8.self)
    }.joined(separator: "\n").appending("\n").write(toFile: corpusFile, atomically: true, encoding: .utf8)
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
        cfg.shardCount = try a.int("shards", default: w * ProtocolConstants.defaultShardsPerWorker, min: 1)!
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
            if let e = shared.error { throw CLIError("bench cluster: the coordinator stopped: \(e)") }
            if procs.allSatisfy({ !$0.isRunning }) { throw CLIError("bench cluster: every worker process exited before the cluster was ready") }
            if Date() > readyDeadline { throw CLIError("bench cluster: the cluster with \(w) worker(s) was not ready after \(Int(readyDeadline.timeIntervalSince(t))) s") }
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
                if !s.error.isEmpty { throw CLIError("bench cluster: job \(sub.jobID) failed: \(s.error)") }
                if s.finished { break }
            }
            if let e = shared.error { throw CLIError("bench cluster: the coordinator stopped: \(e)") }
            if Date() > jobDeadline { throw CLIError("bench cluster: job \(sub.jobID) not finished after \(Int(jobDeadline.timeIntervalSince(t))) s") }
            usleep(50_000)
        }
        let jobSeconds = Date().timeIntervalSince(t)
        print(String(format: "job %d wkr      : %.1f docs/s = %.2fx single-process embedding (%d chunks)",
                     w, Double(corpus.count) / jobSeconds, embedSeconds / jobSeconds, sub.chunks))
    }
}
