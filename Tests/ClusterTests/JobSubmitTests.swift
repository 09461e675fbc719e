import XCTest
import Cluster
import Formats
import Model
import Wire
import ZMQ

/// Job submission through the real coordinator shell: the corpus is indexed off the event loop,
/// a bad corpus is refused naming file:line, and the loop keeps serving while a corpus is read.
extension LoopbackClusterTests {
    /// Follows a job to its end (or fails after `seconds`).
    func waitFinished(_ c: ClusterClient, _ jobID: String, seconds: Double = 20) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            guard case .jobStatusReply(let s) = try c.call(.jobStatusRequest(JobStatusRequest(jobID: jobID)), timeout: 5) else { return XCTFail("no status") }
            XCTAssertEqual(s.error, "")
            if s.finished { return }
            usleep(50_000)
        }
        XCTFail("job \(jobID) not finished within \(seconds) s")
    }

    /// The job output equals the HashEngine embedding of `texts`, with `ids`, in order.
    func checkJobOutput(_ out: URL, texts: [String], ids: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let m = try NumpyFile.decode(try Data(contentsOf: out.appendingPathComponent("embeddings.npy")))
        XCTAssertEqual(m.rows, texts.count, file: file, line: line)
        XCTAssertEqual(m.data, texts.flatMap(HashEngine.vector), "embeddings in corpus order", file: file, line: line)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("ids.txt"), encoding: .utf8), ids.map { $0 + "\n" }.joined(), file: file, line: line)
    }

    func testJobWithABadCorpusLineIsRefusedNamingTheLineAndChangesNothing() throws {
        let r = try start(corpus: [], workers: 1)
        defer { stopAll(r) }
        let c = try ClusterClient(endpoint: r.endpoint)
        _ = try waitReady(c)
        let corpus = r.root.appendingPathComponent("corpus.jsonl"), out = r.root.appendingPathComponent("out")
        let good = [#"{"_id": "a", "title": "T", "text": "first"}"#, "", #"{"_id": "b", "text": "second"}"#, #"{"_id": "c", "text": "épée 日本"}"#]
        var bad = good; bad[2] = #"{"_id": "b", "text": second}"#
        try Data(bad.joined(separator: "\n").utf8).write(to: corpus)
        let submit = Body.jobSubmitRequest(JobSubmitRequest(corpusPath: corpus.path, model: "/models/de", outDir: out.path, chunkSize: 2))
        XCTAssertThrowsError(try c.call(submit, timeout: 10)) { e in
            XCTAssertEqual((e as? RPCStatus)?.code, .invalidArgument, "\(e)")
            XCTAssertEqual((e as? RPCStatus)?.message, corpus.path + ":3: not valid JSON")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no output directory")
        XCTAssertFalse(FileManager.default.fileExists(atPath: r.root.appendingPathComponent("coord/jobs").path), "no journal")
        // The refusal left no job behind: the same job, its corpus fixed, is indexed afresh and runs.
        try Data(good.joined(separator: "\n").utf8).write(to: corpus)
        guard case .jobSubmitReply(let sub) = try c.call(submit, timeout: 10) else { return XCTFail("no submit reply") }
        XCTAssertEqual(sub.chunks, 2)
        try waitFinished(c, sub.jobID)
        try checkJobOutput(out, texts: ["T first", "second", "épée 日本"], ids: ["a", "b", "c"])
    }

    /// Holds the coordinator's corpus indexing (its gate) until released, counting the corpora
    /// that entered it.
    final class Gate: @unchecked Sendable {
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        private let lock = NSLock(); private var paths: [String] = []
        var corpora: [String] { lock.lock(); defer { lock.unlock() }; return paths }
        func pass(_ path: String) {
            lock.lock(); paths.append(path); lock.unlock()
            entered.signal()
            _ = release.wait(timeout: .now() + 30)
        }
    }

    /// The test holds the indexing of a submitted corpus (the coordinator's indexing gate), so
    /// every answer that comes back meanwhile was given while the corpus was being indexed.
    func testCoordinatorAnswersWhileACorpusIsIndexed() throws {
        let served = makeCorpus(40)
        let gate = Gate()
        let r = try start(corpus: served, workers: 1, indexingGate: { gate.pass($0) })
        defer { gate.release.signal(); gate.release.signal(); stopAll(r) }
        let c = try ClusterClient(endpoint: r.endpoint)
        _ = try waitReady(c)
        let corpus = r.root.appendingPathComponent("corpus.txt"), out = r.root.appendingPathComponent("out")
        let lines = ["alpha beta", "", "épée 日本 kernel", "gamma\r", "delta", "lease chunk", "last"]
        try Data(lines.joined(separator: "\n").utf8).write(to: corpus)
        let ctx = try Context(), raw = try ctx.socket(.dealer)
        defer { raw.close() }
        try raw.setReceiveTimeout(milliseconds: 10_000)
        try raw.connect(r.endpoint)
        func send(_ id: UInt64, _ body: Body) throws { try raw.send(try Wire.encode(Envelope(requestID: id, body: body))) }
        func receive() throws -> Envelope? { try raw.receiveMultipart().map { try Wire.decode($0.last!) } }
        // One connection, so the coordinator reads these in order: the submission comes first.
        let submit = Body.jobSubmitRequest(JobSubmitRequest(corpusPath: corpus.path, model: "/models/de", outDir: out.path, chunkSize: 4))
        try send(1, submit)
        XCTAssertEqual(gate.entered.wait(timeout: .now() + 10), .success, "indexing started")
        try send(2, .searchRequest(SearchRequest(query: "kernel zmq", topK: 5)))
        try send(3, submit)  // the same job again, while its corpus is being indexed
        try send(4, .clusterStatusRequest)
        try send(5, .jobStatusRequest(JobStatusRequest(jobID: "job-none")))
        var early: [UInt64: Envelope] = [:]
        for _ in 0..<3 { if let e = try receive() { early[e.requestID] = e } }
        XCTAssertEqual(early.keys.sorted(), [2, 4, 5], "search and status requests answered while the corpus is being indexed")
        if case .searchReply(let s) = early[2]?.body { XCTAssertEqual(s.hits, SimCluster.bruteForce(served, "kernel zmq", k: 5)) } else { XCTFail("search: \(String(describing: early[2]))") }
        if case .clusterStatusReply(let s) = early[4]?.body { XCTAssertTrue(s.ready) } else { XCTFail("status: \(String(describing: early[4]))") }
        XCTAssertEqual(early[5]?.status?.code, .notFound)
        gate.release.signal()
        var subs: [UInt64: JobSubmitReply] = [:]
        for _ in 0..<2 {
            guard let e = try receive() else { break }
            if case .jobSubmitReply(let s) = e.body { subs[e.requestID] = s } else { XCTFail("\(e)") }
        }
        XCTAssertEqual(subs.keys.sorted(), [1, 3], "both submissions answered")
        XCTAssertEqual(subs[1], subs[3])
        XCTAssertEqual(subs[1]?.chunks, 2)
        XCTAssertEqual(gate.corpora, [corpus.path], "one indexing for the two submissions")
        try waitFinished(c, try XCTUnwrap(subs[1]?.jobID))
        // a blank line kept and numbered, "\r" before "\n" dropped, like `strata embed`
        try checkJobOutput(out, texts: lines.map { $0.replacingOccurrences(of: "\r", with: "") }, ids: (1...lines.count).map(String.init))
        XCTAssertEqual(gate.corpora.count, 1)
    }
}
