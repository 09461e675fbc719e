import Foundation
import XCTest
import Cluster
import Formats
import Wire

/// Real `strata` processes on loopback (tcp://127.0.0.1, ephemeral ports), with the tiny
/// committed checkpoints so the tests stay fast in debug builds.
final class EndToEndTests: XCTestCase {
    var tmp: URL!
    var processes: [Process] = []

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("strata-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for p in processes { Strata.stop(p, signal: SIGKILL) }
        try? FileManager.default.removeItem(at: tmp)
    }

    /// Single-process exact search (one FlatIndex over the whole corpus) over `strata embed` outputs.
    func bruteForce(_ docs: (rows: Int, cols: Int, data: [Float]), _ q: ArraySlice<Float>, k: Int) -> [(Int, Float)] {
        ExactSearch.search(Vectors(rows: docs.rows, dimension: docs.cols, data: docs.data), query: Array(q), k: k).map { ($0.index, $0.score) }
    }

    func testClusterUpAnswersExactlyLikeSingleProcessSearch() throws {
        let de = try Strata.fixtureModel("tiny-de-legacy"), ce = try Strata.fixtureModel("tiny-ce")
        let corpus = tmp.appendingPathComponent("corpus.jsonl")
        try writeCorpus(corpus, count: 240)
        let queries = ["network server daemon", "python development tools", "font graphics", "audio", "kernel documentation files"]
        let qfile = tmp.appendingPathComponent("queries.txt")
        try (queries.joined(separator: "\n") + "\n").write(to: qfile, atomically: true, encoding: .utf8)

        // The cluster: 2 workers, every shard on both (replication 2).
        let upLog = tmp.appendingPathComponent("up.log")
        let up = try Strata.spawn(["cluster", "up", "--workers", "2", "--corpus", corpus.path, "--model", de, "--ce", ce,
                                   "--replication", "2", "--data-dir", tmp.appendingPathComponent("cl").path], log: upLog)
        processes.append(up)
        let endpoint = try XCTUnwrap(Strata.readyEndpoint(in: upLog), "cluster up never printed `ready ADDR`")
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)

        // Single process: strata embed of the corpus and the queries, then exact search here.
        let (s1, _, e1) = try Strata.run(["embed", "--model", de, "--input", corpus.path, "--output", tmp.appendingPathComponent("docs.npy").path])
        XCTAssertEqual(s1, 0, e1)
        // Each query alone, as the cluster embeds it (a batch of one: BLAS may take another path
        // for a tiny matrix, so a query embedded among others can differ in the last bits).
        var qdata: [Float] = [], qcols = 0
        for (i, q) in queries.enumerated() {
            let f = tmp.appendingPathComponent("q\(i).txt"), o = tmp.appendingPathComponent("q\(i).npy")
            try (q + "\n").write(to: f, atomically: true, encoding: .utf8)
            let (s2, _, e2) = try Strata.run(["embed", "--model", de, "--input", f.path, "--output", o.path])
            XCTAssertEqual(s2, 0, e2)
            let v = try readNPY(o.path)
            qdata += v.data; qcols = v.cols
        }
        let qv = (rows: queries.count, cols: qcols, data: qdata)
        let docs = try readNPY(tmp.appendingPathComponent("docs.npy").path)
        let ids = try CorpusReader.read(corpus.path).map(\.id)

        let run = tmp.appendingPathComponent("run.txt")
        let (s3, _, e3) = try Strata.run(["search", "--coordinator", endpoint, "--input", qfile.path, "--run", run.path, "--top", "10"])
        XCTAssertEqual(s3, 0, e3)
        let lines = try String(contentsOf: run, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        XCTAssertEqual(lines.count, queries.count * 10)
        for qi in 0..<queries.count {
            let expect = bruteForce(docs, qv.data[(qi * qv.cols)..<((qi + 1) * qv.cols)], k: 10)
            let got = lines.filter { $0[0] == Substring(String(qi + 1)) }
            XCTAssertEqual(got.map { String($0[2]) }, expect.map { ids[$0.0] }, "query \(qi + 1) ranking")
            // Scores agree to float rounding, not bit for bit: the workers embed each shard in its own
            // batches, and OpenBLAS's sgemm (Haswell kernels, as OPENBLAS_CORETYPE selects on these
            // machines) rounds a row differently depending on the matrix height it sits in.
            for (g, e) in zip(got.map { Float(String($0[4]))! }, expect.map(\.1)) {
                XCTAssertEqual(g, e, accuracy: 1e-5 * max(1, abs(e)), "query \(qi + 1) scores")
            }
        }

        // Re-ranking path answers and orders by CE score.
        let (s4, out4, e4) = try Strata.run(["search", "--coordinator", endpoint, "--top", "5", "--rerank", "--rerank-top", "20", queries[0]])
        XCTAssertEqual(s4, 0, e4)
        let scores = out4.split(separator: "\n").map { Float($0.split(separator: " ", omittingEmptySubsequences: true)[1])! }
        XCTAssertEqual(scores.count, 5)
        XCTAssertEqual(scores, scores.sorted(by: >))

        // The Python example client (same proto) gives the same top 10 as the run file. It is
        // checked whenever python3 with pyzmq and protobuf is there; only their absence skips it.
        func python(_ args: [String]) throws -> (Int32, String, String) {
            let py = Process()
            py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            py.arguments = ["python3"] + args
            let out = Pipe(), err = Pipe(); py.standardOutput = out; py.standardError = err
            try py.run()
            let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
            py.waitUntilExit()
            return (py.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
        }
        let probe = (try? python(["-c", "import zmq, google.protobuf"])) ?? (127, "", "cannot run /usr/bin/env python3")
        if probe.0 != 0 {
            print("EndToEndTests: example client NOT checked: python3 with pyzmq and protobuf unavailable (\(probe.2.trimmingCharacters(in: .whitespacesAndNewlines)))")
        } else {
            let (ps, pout, perr) = try python([Strata.repoRoot.appendingPathComponent("cluster/example_client.py").path, "--coordinator", endpoint, "--top", "10", queries[1]])
            XCTAssertEqual(ps, 0, "example_client.py failed: \(perr)")
            XCTAssertEqual(pout.split(separator: "\n").map { String($0.split(separator: " ").last!) }, lines.filter { $0[0] == "2" }.map { String($0[2]) })
        }

        // kill -9 one worker while queries keep coming: with replication 2 every answer is complete and exact.
        let pids = try Strata.run(["--help"]).1.isEmpty ? [] : pgrep(tmp.appendingPathComponent("cl/worker-1").path)
        XCTAssertEqual(pids.count, 1, "found the worker process")
        for p in pids { kill(p, SIGKILL) }
        let expect0 = bruteForce(docs, qv.data[0..<qv.cols], k: 10).map { ids[$0.0] }
        let client = try ClusterClient(endpoint: endpoint)
        let t0 = Date()
        var answered = 0
        while Date().timeIntervalSince(t0) < 5 {
            guard case .searchReply(let r) = try client.call(.searchRequest(SearchRequest(query: queries[0], topK: 10)), timeout: 12) else { return XCTFail() }
            XCTAssertFalse(r.partial, "a replica holds every shard")
            XCTAssertEqual(r.hits.map(\.docID), expect0)
            answered += 1
        }
        XCTAssertGreaterThan(answered, 1)
        guard case .clusterStatusReply(let st) = try client.call(.clusterStatusRequest) else { return XCTFail() }
        XCTAssertEqual(st.workersLive, 1, "the killed worker was declared dead")

        // SIGTERM: cluster up stops everything it started and exits 0.
        kill(up.processIdentifier, SIGTERM)
        XCTAssertTrue(Strata.waitFor(10) { !up.isRunning })
        XCTAssertEqual(up.terminationStatus, 0)
        XCTAssertTrue(pgrep(tmp.appendingPathComponent("cl/").path).isEmpty, "no coordinator or worker left running")
    }

    func testCurveClusterFromKeysGen() throws {
        let de = try Strata.fixtureModel("tiny-de-legacy")
        let keys = tmp.appendingPathComponent("keys")
        let (s0, out0, e0) = try Strata.run(["keys", "gen", "--out", keys.path])
        XCTAssertEqual(s0, 0, e0)
        XCTAssertTrue(out0.contains("server.pub"))
        let secret = try FileManager.default.attributesOfItem(atPath: keys.appendingPathComponent("server.key").path)
        XCTAssertEqual((secret[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let corpus = tmp.appendingPathComponent("corpus.jsonl")
        try writeCorpus(corpus, count: 30)
        let upLog = tmp.appendingPathComponent("up.log")
        let up = try Strata.spawn(["cluster", "up", "--workers", "1", "--corpus", corpus.path, "--model", de, "--keys", keys.path,
                                   "--data-dir", tmp.appendingPathComponent("cl").path], log: upLog)
        processes.append(up)
        let endpoint = try XCTUnwrap(Strata.readyEndpoint(in: upLog), "a CURVE cluster (workers authenticated by the same keys) became ready")
        let (s1, out1, e1) = try Strata.run(["search", "--coordinator", endpoint, "--keys", keys.path, "--top", "3", "package tools"])
        XCTAssertEqual(s1, 0, e1)
        XCTAssertEqual(out1.split(separator: "\n").count, 3)
        // without keys, or with another key pair, the coordinator never answers
        let (s2, _, e2) = try Strata.run(["search", "--coordinator", endpoint, "--timeout", "1", "--top", "3", "package tools"])
        XCTAssertNotEqual(s2, 0)
        XCTAssertTrue(e2.contains("no reply"), e2)
        let other = tmp.appendingPathComponent("other")
        XCTAssertEqual(try Strata.run(["keys", "gen", "--out", other.path]).0, 0)
        try FileManager.default.removeItem(at: other.appendingPathComponent("server.pub"))
        try FileManager.default.copyItem(at: keys.appendingPathComponent("server.pub"), to: other.appendingPathComponent("server.pub"))
        let (s3, _, _) = try Strata.run(["search", "--coordinator", endpoint, "--keys", other.path, "--timeout", "1", "--top", "3", "package tools"])
        XCTAssertNotEqual(s3, 0, "a client key not in authorized_clients is refused")
        kill(up.processIdentifier, SIGTERM)
        XCTAssertTrue(Strata.waitFor(10) { !up.isRunning })
    }

    func testJobSurvivesWorkerDeathAndCoordinatorRestartAndMatchesStrataEmbed() throws {
        let de = try Strata.fixtureModel("tiny-de-legacy")
        let data = tmp.appendingPathComponent("coord"), jobs = data.appendingPathComponent("jobs")
        let epFile = tmp.appendingPathComponent("ep")
        var coord = try Strata.spawn(["coordinator", "--bind", "tcp://127.0.0.1:0", "--data-dir", data.path, "--endpoint-file", epFile.path, "--jobs-root", tmp.path],
                                     log: tmp.appendingPathComponent("coord1.log"))
        processes.append(coord)
        var endpoint = ""
        XCTAssertTrue(Strata.waitFor(20) { endpoint = (try? String(contentsOf: epFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""; return !endpoint.isEmpty })
        let w1 = try Strata.spawn(["worker", "--coordinator", endpoint, "--data-dir", tmp.appendingPathComponent("w1").path], log: tmp.appendingPathComponent("w1.log"))
        let w2 = try Strata.spawn(["worker", "--coordinator", endpoint, "--data-dir", tmp.appendingPathComponent("w2").path], log: tmp.appendingPathComponent("w2.log"))
        processes += [w1, w2]
        let client = try ClusterClient(endpoint: endpoint)
        XCTAssertTrue(Strata.waitFor(20) {
            if case .clusterStatusReply(let s)? = try? client.call(.clusterStatusRequest, timeout: 1) { return s.workersLive == 2 }
            return false
        }, "both workers registered")
        /// A job command; `chunk` nil = the default chunk size (the batching unit of `strata embed`).
        func job(_ corpus: URL, _ out: URL, chunk: Int? = 10) -> [String] {
            ["job", "embed", "--coordinator", endpoint, "--corpus", corpus.path, "--model", de, "--out", out.path] + (chunk.map { ["--chunk-size", String($0)] } ?? [])
        }
        /// With the default chunk size the output is byte-identical to `strata embed`; with small
        /// chunks the batching differs, so it is equal only up to float rounding (1e-5).
        func checkOutput(_ corpus: URL, _ out: URL, rows: Int, byteIdentical: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
            let single = out.appendingPathExtension("single.npy")
            let (s1, _, e1) = try Strata.run(["embed", "--model", de, "--input", corpus.path, "--output", single.path])
            XCTAssertEqual(s1, 0, e1, file: file, line: line)
            let got = out.appendingPathComponent("embeddings.npy")
            if byteIdentical {
                XCTAssertEqual(try Data(contentsOf: got), try Data(contentsOf: single), "byte-identical to strata embed", file: file, line: line)
            } else {
                let a = try readNPY(got.path), b = try readNPY(single.path)
                XCTAssertEqual([a.rows, a.cols], [b.rows, b.cols], file: file, line: line)
                let worst = zip(a.data, b.data).map { abs($0 - $1) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, 1e-5, "equal to strata embed within 1e-5", file: file, line: line)
            }
            XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("ids.txt"), encoding: .utf8),
                           try CorpusReader.read(corpus.path).map { $0.id + "\n" }.joined(), file: file, line: line)
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json"))) as! [String: Any]
            XCTAssertEqual(manifest["rows"] as? Int, rows, file: file, line: line)
            let emb = try Data(contentsOf: out.appendingPathComponent("embeddings.npy"))
            XCTAssertEqual((manifest["embeddings"] as? [String: Any])?["crc32"] as? String,
                           String(format: "%08x", emb.withUnsafeBytes { CRC32.checksum($0) }), file: file, line: line)
        }

        // First job, with the default chunk size (both workers load the model meanwhile): byte-identical to strata embed.
        let warm = tmp.appendingPathComponent("warm.jsonl"), outW = tmp.appendingPathComponent("outW")
        try writeCorpus(warm, count: 150)
        let (sw, _, ew) = try Strata.run(job(warm, outW, chunk: nil))
        XCTAssertEqual(sw, 0, ew)
        try checkOutput(warm, outW, rows: 150, byteIdentical: true)
        usleep(500_000)

        // Job A: w2 freezes and is leased a chunk it never finishes; after 3 missed heartbeats the
        // coordinator declares it dead and the chunk is re-run on w1. Then w2 is killed (-9).
        kill(w2.processIdentifier, SIGSTOP)
        let corpusA = tmp.appendingPathComponent("a.jsonl"), outA = tmp.appendingPathComponent("outA")
        try writeCorpus(corpusA, count: 200)
        let (sa, _, ea) = try Strata.run(job(corpusA, outA), timeout: 120)
        XCTAssertEqual(sa, 0, ea)
        kill(w2.processIdentifier, SIGKILL); w2.waitUntilExit()
        let log1 = try String(contentsOf: tmp.appendingPathComponent("coord1.log"), encoding: .utf8)
        XCTAssertTrue(log1.contains("missed 3 heartbeats"), log1)
        XCTAssertTrue(log1.contains("go back to the queue"), "the dead worker's chunk was re-queued:\n\(log1)")
        try checkOutput(corpusA, outA, rows: 200)
        XCTAssertEqual(doneLines(jobs, job: outA.path), 20, "every chunk journaled exactly once")

        // Job B: kill -9 the coordinator mid-job (w1 frozen first so the job cannot finish meanwhile).
        let corpusB = tmp.appendingPathComponent("b.jsonl"), outB = tmp.appendingPathComponent("outB")
        try writeCorpus(corpusB, count: 400)
        let follower = try Strata.spawn(job(corpusB, outB), log: tmp.appendingPathComponent("jobB.log"))
        processes.append(follower)
        let sawProgress = Strata.waitFor(60) { doneLines(jobs, job: outB.path) >= 3 }
        kill(w1.processIdentifier, SIGSTOP)
        XCTAssertTrue(sawProgress, "job B made progress")
        kill(coord.processIdentifier, SIGKILL); coord.waitUntilExit()
        kill(follower.processIdentifier, SIGKILL); follower.waitUntilExit()
        let doneBefore = doneLines(jobs, job: outB.path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: outB.appendingPathComponent("embeddings.npy").path), "job B was unfinished when the coordinator died")
        XCTAssertLessThan(doneBefore, 40)

        // Restart on the same endpoint: it resumes from its journal; w1 wakes and re-registers by itself.
        coord = try Strata.spawn(["coordinator", "--bind", endpoint, "--data-dir", data.path, "--jobs-root", tmp.path], log: tmp.appendingPathComponent("coord2.log"))
        processes.append(coord)
        kill(w1.processIdentifier, SIGCONT)
        let (sb, _, eb) = try Strata.run(job(corpusB, outB), timeout: 120)
        XCTAssertEqual(sb, 0, eb)
        let log2 = try String(contentsOf: tmp.appendingPathComponent("coord2.log"), encoding: .utf8)
        XCTAssertTrue(log2.contains("resumed from its journal, \(doneBefore)/40 chunks done"), log2)
        try checkOutput(corpusB, outB, rows: 400)
        XCTAssertEqual(doneLines(jobs, job: outB.path), 40, "every chunk journaled exactly once across both coordinator lives")
    }
}

/// `done` records in the journals under `dir` of the job writing to `job` (its out dir).
func doneLines(_ dir: URL, job outDir: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
    return names.reduce(0) { acc, n in
        let text = (try? String(contentsOf: dir.appendingPathComponent("\(n)/journal.log"), encoding: .utf8)) ?? ""
        guard let spec = text.split(separator: "\n").first, spec.contains("\t\(outDir)\t") else { return acc }
        return acc + text.split(separator: "\n").filter { $0.hasPrefix("done ") }.count
    }
}

/// Pids of processes whose command line contains `needle` (a unique temporary path of this test).
func pgrep(_ needle: String) -> [Int32] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return names.compactMap { Int32($0) }.filter { pid in
        guard let d = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return String(decoding: d.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(needle)
    }
}
