import Foundation
import XCTest
import Cluster
import Wire

/// End-to-end runs with the real checkpoints: all-MiniLM-L6-v2 ($STRATA_MODELS) and the shared
/// cross encoder ($STRATA_SHARED/models/ce-minilm-l6-debian). Skipped, saying why, when absent.
final class RealModelTests: XCTestCase {
    var tmp: URL!
    var processes: [Process] = []

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("strata-real-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for p in processes { Strata.stop(p, signal: SIGKILL) }
        try? FileManager.default.removeItem(at: tmp)
    }

    func dualEncoder() throws -> String {
        let models = ProcessInfo.processInfo.environment["STRATA_MODELS"] ?? (NSHomeDirectory() + "/.cache/strata/models")
        let p = models + "/all-MiniLM-L6-v2"
        guard FileManager.default.fileExists(atPath: p + "/model.safetensors") else { throw XCTSkip("all-MiniLM-L6-v2 not at \(p) (run scripts/setup)") }
        return p
    }

    func crossEncoder() throws -> String {
        let shared = ProcessInfo.processInfo.environment["STRATA_SHARED"] ?? Strata.repoRoot.deletingLastPathComponent().appendingPathComponent("shared").path
        let p = shared + "/models/ce-minilm-l6-debian"
        guard FileManager.default.fileExists(atPath: p + "/model.safetensors") else { throw XCTSkip("no cross encoder at \(p) (set STRATA_SHARED)") }
        return p
    }

    /// Coordinator + one worker; returns the endpoint.
    func startCluster(_ extra: [String]) throws -> String {
        let ep = tmp.appendingPathComponent("ep")
        processes.append(try Strata.spawn(["coordinator", "--bind", "tcp://127.0.0.1:0", "--data-dir", tmp.appendingPathComponent("c").path,
                                           "--endpoint-file", ep.path, "--settle", "0", "--jobs-root", tmp.path] + extra, log: tmp.appendingPathComponent("c.log")))
        var endpoint = ""
        XCTAssertTrue(Strata.waitFor(20) { endpoint = (try? String(contentsOf: ep, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""; return !endpoint.isEmpty })
        processes.append(try Strata.spawn(["worker", "--coordinator", endpoint, "--data-dir", tmp.appendingPathComponent("w").path], log: tmp.appendingPathComponent("w.log")))
        return endpoint
    }

    func testJobWithMiniLMIsByteIdenticalToStrataEmbed() throws {
        let de = try dualEncoder()
        let corpus = tmp.appendingPathComponent("corpus.jsonl")
        try writeCorpus(corpus, count: 60)
        let endpoint = try startCluster([])
        let out = tmp.appendingPathComponent("out")
        let (s, _, e) = try Strata.run(["job", "embed", "--coordinator", endpoint, "--corpus", corpus.path, "--model", de, "--out", out.path], timeout: 300)  // the default chunk size: byte identity is promised for it
        XCTAssertEqual(s, 0, e)
        let single = tmp.appendingPathComponent("single.npy")
        let (s2, _, e2) = try Strata.run(["embed", "--model", de, "--input", corpus.path, "--output", single.path], timeout: 300)
        XCTAssertEqual(s2, 0, e2)
        let a = try Data(contentsOf: out.appendingPathComponent("embeddings.npy")), b = try Data(contentsOf: single)
        XCTAssertEqual(a.count, b.count)
        XCTAssertTrue(a == b, "the job output differs from strata embed")
        XCTAssertEqual(try readNPY(single.path).cols, 384)
    }

    func testRerankScoresAreTheCrossEncodersScores() throws {
        let de = try dualEncoder(), ce = try crossEncoder()
        let corpus = tmp.appendingPathComponent("corpus.jsonl")
        try writeCorpus(corpus, count: 24)
        let endpoint = try startCluster(["--corpus", corpus.path, "--model", de, "--ce", ce, "--shards", "2"])
        let client = try ClusterClient(endpoint: endpoint)
        XCTAssertTrue(Strata.waitFor(120) {
            if case .clusterStatusReply(let st)? = try? client.call(.clusterStatusRequest, timeout: 2) { return st.ready }
            return false
        }, "the corpus was indexed")
        let query = "network server daemon"
        // every document is a candidate (rerank depth >= corpus size), so the answer is the CE's own top 5
        guard case .searchReply(let r) = try client.call(.searchRequest(SearchRequest(query: query, topK: 5, rerank: true, rerankTop: 24)), timeout: 120) else { return XCTFail() }
        XCTAssertFalse(r.partial)
        let docs = try CorpusReader.read(corpus.path)
        let pairs = tmp.appendingPathComponent("pairs.tsv")
        try docs.map { "\(query)\t\($0.text)\n" }.joined().write(to: pairs, atomically: true, encoding: .utf8)
        let scoresFile = tmp.appendingPathComponent("scores.txt")
        let (s, _, e) = try Strata.run(["score", "--model", ce, "--input", pairs.path, "--output", scoresFile.path], timeout: 300)
        XCTAssertEqual(s, 0, e)
        let scores = try String(contentsOf: scoresFile, encoding: .utf8).split(separator: "\n").map { Float(String($0))! }
        XCTAssertEqual(scores.count, docs.count)
        let expect = scores.enumerated().sorted { $0.element != $1.element ? $0.element > $1.element : $0.offset < $1.offset }.prefix(5)
        XCTAssertEqual(r.hits.map(\.docID), expect.map { docs[$0.offset].id })
        for (h, x) in zip(r.hits, expect) { XCTAssertEqual(h.score, x.element, accuracy: 1e-4, "CE score of \(h.docID)") }
    }
}
