import XCTest
import Cluster
import Formats
import Wire

/// Two findings of an attack, in the Jobs part alone: a job whose output directory lay inside (or
/// held) another job's lost its files when the other finished (its `chunks/` are removed), and a
/// finished job submitted again after its corpus grew answered with the old output.
final class JobOverlapTests: XCTestCase {
    let client = Peer("client")

    func corpusFile(_ docs: Int) throws -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strata-overlap-\(UUID().uuidString).txt")
        try Data(makeCorpus(docs).map { $0.text + "\n" }.joined().utf8).write(to: file)
        addTeardownBlock { try? FileManager.default.removeItem(at: file) }
        return file
    }

    func request(_ file: URL, out: String, model: String = "/models/de") -> JobSubmitRequest {
        JobSubmitRequest(corpusPath: file.path, model: model, outDir: out, chunkSize: 10)
    }

    /// The first reply's status, or nil when the actions hold no reply.
    func replyStatus(_ actions: [CoordinatorAction]) -> RPCStatus? {
        for a in actions { if case .send(_, let e) = a { return e.status } }
        return nil
    }

    func asksToIndex(_ actions: [CoordinatorAction]) -> Bool {
        actions.contains { if case .indexCorpus = $0 { return true }; return false }
    }

    /// Submits, indexes and stores `m`: the job runs.
    func run(_ c: inout Coordinator, _ m: JobSubmitRequest, _ rid: UInt64) throws -> TextRecordIndex {
        let id = JobsState.jobID(m, chunkSize: 10)
        XCTAssertTrue(asksToIndex(c.handle(.jobSubmitted(from: client, requestID: rid, .confined(m), now: 0))))
        let index = try TextRecordIndex(path: m.corpusPath)
        _ = c.handle(.corpusIndexed(jobID: id, .success(IndexedCorpus(request: m, chunkSize: 10, index: index)), now: 1))
        XCTAssertEqual(replyStatus(c.handle(.jobStored(jobID: id, error: nil, now: 2)))?.code, .ok)
        XCTAssertNotNil(c.jobs[id])
        return index
    }

    func testOutputInsideOrHoldingAnotherJobsOutputIsRefused() throws {
        var c = Coordinator(config: CoordinatorConfig(), corpus: [])
        let file = try corpusFile(12)
        _ = try run(&c, request(file, out: "/jobs/a"), 1)
        for (out, how) in [("/jobs/a/inner", "lies inside"), ("/jobs/a/chunks/x", "lies inside"), ("/jobs", "contains"), ("/jobs/a", "is")] {
            let actions = c.handle(.jobSubmitted(from: client, requestID: 2, .confined(request(file, out: out, model: "/models/other")), now: 3))
            XCTAssertFalse(asksToIndex(actions), out)
            let status = try XCTUnwrap(replyStatus(actions), out)
            XCTAssertEqual(status.code, .failedPrecondition, out)
            XCTAssertTrue(status.message.contains("\(how) the output directory /jobs/a of job"), status.message)
        }
        // A sibling whose name merely starts the same is not nested.
        XCTAssertTrue(asksToIndex(c.handle(.jobSubmitted(from: client, requestID: 3, .confined(request(file, out: "/jobs/ab")), now: 3))))
    }

    func testNestingIsCheckedAgainWhenTheCorpusIsIndexed() throws {
        // Both submitted before either is stored: the inner one's indexing ends after the outer one ran.
        var c = Coordinator(config: CoordinatorConfig(), corpus: [])
        let file = try corpusFile(12)
        let inner = request(file, out: "/jobs/a/b", model: "/models/other")
        let innerID = JobsState.jobID(inner, chunkSize: 10)
        XCTAssertTrue(asksToIndex(c.handle(.jobSubmitted(from: client, requestID: 1, .confined(inner), now: 0))))
        _ = try run(&c, request(file, out: "/jobs/a"), 2)
        let actions = c.handle(.corpusIndexed(jobID: innerID, .success(IndexedCorpus(request: inner, chunkSize: 10, index: try TextRecordIndex(path: file.path))), now: 3))
        XCTAssertEqual(replyStatus(actions)?.code, .failedPrecondition)
        XCTAssertFalse(actions.contains { if case .storeJob = $0 { return true }; return false }, "nothing stored")
        XCTAssertNil(c.jobs[innerID])
    }

    func testKnownJobIsFollowedOnlyWhileItsCorpusIsUnchanged() throws {
        var c = Coordinator(config: CoordinatorConfig(), corpus: [])
        let file = try corpusFile(12)
        let m = request(file, out: "/jobs/a")
        let index = try run(&c, m, 1)
        let id = JobsState.jobID(m, chunkSize: 10)
        // Unchanged: the same job, answered at once.
        let same = c.handle(.jobSubmitted(from: client, requestID: 2, .confined(m, corpusStamp: FileStamp.of(path: file.path)), now: 3))
        XCTAssertEqual(replyStatus(same)?.code, .ok)
        XCTAssertEqual(index.stamp, FileStamp.of(path: file.path))
        // A document appended: refused, naming the corpus and the output, and nothing is indexed or overwritten.
        let h = try FileHandle(forWritingTo: file)
        try h.seekToEnd(); try h.write(contentsOf: Data("one more document\n".utf8)); try h.close()
        let changed = c.handle(.jobSubmitted(from: client, requestID: 3, .confined(m, corpusStamp: FileStamp.of(path: file.path)), now: 4))
        let status = try XCTUnwrap(replyStatus(changed))
        XCTAssertEqual(status.code, .failedPrecondition)
        XCTAssertTrue(status.message.contains("changed after this job indexed it"), status.message)
        XCTAssertTrue(status.message.contains("choose another --out"), status.message)
        XCTAssertFalse(asksToIndex(changed))
        XCTAssertEqual(c.jobs[id]?.spec.docCount, 12, "the known job is untouched")
    }
}
