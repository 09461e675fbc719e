import XCTest
import Cluster
import Wire

/// Real coordinator shells meeting hostile corpora: a NUL byte (which the wire refuses, so its job
/// once stalled with a chunk leased) and a corpus slow to index (which once held every other job's
/// submission behind it).
extension LoopbackClusterTests {
    func testCorpusWithANulByteIsRefusedAtSubmissionNamingTheLine() throws {
        let r = try start(corpus: [], workers: 1)
        defer { stopAll(r) }
        let c = try ClusterClient(endpoint: r.endpoint)
        _ = try waitReady(c)
        for (name, bytes, line) in [("nul.txt", Array("a\nb".utf8) + [0] + Array("c\nd\n".utf8), 2),
                                    ("nul.jsonl", Array("{\"_id\": \"1\", \"text\": \"x\"}\n{\"_id\": \"2\", \"text\": \"a\\u0000b\"}\n".utf8), 2)] {
            let corpus = r.root.appendingPathComponent(name), out = r.root.appendingPathComponent("out-" + name)
            try Data(bytes).write(to: corpus)
            let submit = Body.jobSubmitRequest(JobSubmitRequest(corpusPath: corpus.path, model: "/models/de", outDir: out.path, chunkSize: 2))
            XCTAssertThrowsError(try c.call(submit, timeout: 10)) { e in
                XCTAssertEqual((e as? RPCStatus)?.code, .invalidArgument, "\(e)")
                let message = (e as? RPCStatus)?.message ?? ""
                XCTAssertTrue(message.hasSuffix("\(name):\(line): the text contains a NUL byte (U+0000), which is not allowed"), message)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no output directory")
        }
    }
}

extension LoopbackClusterTests {
    /// A corpus that takes long to index (held here by the indexing gate) no longer holds another
    /// job's submission behind it: indexing runs up to two corpora at a time.
    func testSlowIndexingDoesNotBlockAnotherJobsSubmission() throws {
        let hold = DispatchSemaphore(value: 0), entered = DispatchSemaphore(value: 0)
        let r = try start(corpus: [], workers: 1, indexingGate: { path in
            if path.hasSuffix("slow.txt") { entered.signal(); _ = hold.wait(timeout: .now() + 30) }
        })
        defer { hold.signal(); stopAll(r) }
        let slow = r.root.appendingPathComponent("slow.txt"), quick = r.root.appendingPathComponent("quick.txt")
        try Data("a\nb\n".utf8).write(to: slow)
        try Data("c\nd\ne\n".utf8).write(to: quick)
        let endpoint = r.endpoint
        let slowDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let c = try? ClusterClient(endpoint: endpoint)
            _ = try? c?.call(.jobSubmitRequest(JobSubmitRequest(corpusPath: slow.path, model: "/models/de", outDir: r.root.path + "/out-slow", chunkSize: 2)), timeout: 30)
            slowDone.signal()
        }
        XCTAssertEqual(entered.wait(timeout: .now() + 10), .success, "the slow corpus is being indexed")
        let c = try ClusterClient(endpoint: r.endpoint)
        guard case .jobSubmitReply(let sub) = try c.call(.jobSubmitRequest(JobSubmitRequest(corpusPath: quick.path, model: "/models/de",
                                                                                           outDir: r.root.path + "/out-quick", chunkSize: 2)), timeout: 5)
        else { return XCTFail("no submit reply") }
        XCTAssertEqual(sub.chunks, 2, "answered while the slow corpus is still held")
        hold.signal()
        XCTAssertEqual(slowDone.wait(timeout: .now() + 30), .success)
    }
}
