import XCTest
import Cluster
import Formats
import Model
import Wire

/// Batch jobs through the coordinator state machine: leases, worker death, no duplicates.
final class CoordinatorJobTests: XCTestCase {
    func startJob(_ sim: SimCluster, docs: Int, chunkSize: Int, done: Set<Int> = []) -> JobRun {
        let texts = makeCorpus(docs).map(\.text)
        let chunks = (docs + chunkSize - 1) / chunkSize
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strata-job-\(UUID().uuidString).txt")
        XCTAssertNoThrow(try Data(texts.map { $0 + "\n" }.joined().utf8).write(to: file))
        addTeardownBlock { try? FileManager.default.removeItem(at: file) }
        let corpus = try! TextRecordIndex(path: file.path)
        XCTAssertEqual(corpus.count, docs)
        let spec = JobJournal.Spec(jobID: "job1", corpusPath: file.path, model: "/models/de", outDir: "/out", chunkSize: chunkSize, docCount: docs, chunkCount: chunks)
        let job = JobRun(spec: spec, corpus: corpus, scheduler: JobScheduler(chunkCount: chunks, alreadyDone: done, leaseSeconds: 30),
                         started: sim.now, doneAtStart: done.count)
        sim.coordinator.addJob(job)
        return job
    }

    func checkOutput(_ sim: SimCluster, _ job: JobRun, expectChunks: [Int], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(sim.persisted.map(\.chunk).sorted(), expectChunks, "every chunk exactly once", file: file, line: line)
        for p in sim.persisted {
            let texts = Array(makeCorpus(job.spec.docCount).map(\.text)[job.range(p.chunk)])
            XCTAssertEqual(p.vectors.data, texts.flatMap(HashEngine.vector), "chunk \(p.chunk) content", file: file, line: line)
        }
    }

    func testJobCompletesWithEveryChunkOnce() {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1"); sim.addWorker("w2")
        let job = startJob(sim, docs: 103, chunkSize: 10)
        sim.advance(1)
        XCTAssertEqual(sim.finishedJobs, ["job1"])
        checkOutput(sim, job, expectChunks: Array(0..<11))
        XCTAssertTrue(sim.coordinator.jobs["job1"]!.scheduler.finished)
    }

    func testWorkerDyingMidChunkHasItsChunkRerunElsewhere() {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1"); sim.addWorker("w2")
        // w2 takes a chunk and goes silent (kill -9).
        sim.down.insert(Peer("w2"))
        let job = startJob(sim, docs: 50, chunkSize: 10)
        sim.run([.tick(now: sim.now)])
        let leasedToW2 = sim.coordinator.jobs["job1"]!.scheduler.leased(to: Peer("w2"))
        XCTAssertEqual(leasedToW2.count, 1, "w2 held a chunk when it died")
        sim.advance(5)
        XCTAssertEqual(sim.finishedJobs, ["job1"])
        checkOutput(sim, job, expectChunks: Array(0..<5))
        XCTAssertTrue(sim.logs.contains { $0.contains("go back to the queue") })
    }

    func testResumedJobOnlyRunsMissingChunks() {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1")
        let job = startJob(sim, docs: 40, chunkSize: 10, done: [0, 2])
        sim.advance(1)
        checkOutput(sim, job, expectChunks: [1, 3])
        XCTAssertEqual(sim.finishedJobs, ["job1"])
    }

    func testReleaseOnlyByTheLeaseHolder() {
        var s = JobScheduler(chunkCount: 2, leaseSeconds: 10)
        let a = Peer("a"), b = Peer("b")
        XCTAssertEqual(s.lease(to: a, now: 0), 0)
        XCTAssertEqual(s.expire(now: 11), [0], "a's lease expired")
        XCTAssertEqual(s.lease(to: b, now: 11), 0, "chunk 0 went to b")
        XCTAssertFalse(s.release(0, by: a), "a's late failure does not touch b's lease")
        XCTAssertEqual(s.leased(to: b), [0])
        XCTAssertEqual(s.lease(to: a, now: 12), 1, "chunk 0 is not pending again")
        XCTAssertTrue(s.release(0, by: b))
        XCTAssertEqual(s.lease(to: b, now: 13), 0, "released by its holder: pending again")
    }

    func testChunkOverTheFrameLimitFailsTheJobOnce() {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1"); sim.addWorker("w2")
        // 10 vectors of 8 floats = 320 bytes; the workers' frames allow 100 beyond the margin.
        for p in [Peer("w1"), Peer("w2")] { sim.workers[p]!.maxFrameBytes = Coordinator.frameMargin + 100 }
        _ = startJob(sim, docs: 50, chunkSize: 10)
        sim.advance(1)
        let failures = sim.logs.filter { $0.contains("chunk(job:") && $0.contains("failed") }.count
        XCTAssertGreaterThan(failures, 0)
        XCTAssertTrue(sim.coordinator.jobs["job1"]!.error.contains("frame limit"), sim.coordinator.jobs["job1"]!.error)
        sim.advance(3)
        XCTAssertEqual(sim.logs.filter { $0.contains("chunk(job:") && $0.contains("failed") }.count, failures, "the chunk is not leased again and again")
        XCTAssertTrue(sim.persisted.isEmpty)
        XCTAssertTrue(sim.finishedJobs.isEmpty)
    }

    func testChunkTextsOverTheFrameLimitAreRefused() {
        let texts = (0..<9).map { String(repeating: "x", count: 100 + $0) }
        let limit = Coordinator.frameMargin + 400
        XCTAssertNoThrow(try Coordinator.checkChunkFrames(texts: texts, chunkSize: 3, limit: limit))  // 3 x (~104 + 6) bytes
        XCTAssertThrowsError(try Coordinator.checkChunkFrames(texts: texts, chunkSize: 4, limit: limit)) { e in
            XCTAssertTrue("\(e)".contains("chunk 0 (documents 0..<4)") && "\(e)".contains("--chunk-size"), "\(e)")
        }
    }

    /// From a corpus index, record bytes are only a bound: a chunk over it is parsed and judged by its texts.
    func testChunkFramesFromTheCorpusIndexAreJudgedByTheTexts() throws {
        let texts = (0..<9).map { String(repeating: "x", count: 100 + $0) }
        let pad = String(repeating: "p", count: 200)
        let lines = texts.enumerated().map { #"{"_id": "d\#($0.offset)", "text": "\#($0.element)", "pad": "\#(pad)"}"# }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strata-frames-\(UUID().uuidString).jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let index = try TextRecordIndex(path: file.path)
        let limit = Coordinator.frameMargin + 400
        XCTAssertGreaterThan(index.byteCount(in: 0..<3), 400, "the bound alone would refuse chunks of 3")
        XCTAssertNoThrow(try Coordinator.checkChunkFrames(index, chunkSize: 3, limit: limit))
        var fromIndex = "", fromTexts = ""
        XCTAssertThrowsError(try Coordinator.checkChunkFrames(index, chunkSize: 4, limit: limit)) { fromIndex = "\($0)" }
        XCTAssertThrowsError(try Coordinator.checkChunkFrames(texts: texts, chunkSize: 4, limit: limit)) { fromTexts = "\($0)" }
        XCTAssertEqual(fromIndex, fromTexts)
        XCTAssertTrue(fromIndex.contains("chunk 0 (documents 0..<4)"), fromIndex)
    }

    func testLateDuplicateCompletionIsIgnored() {
        var s = JobScheduler(chunkCount: 3, leaseSeconds: 10)
        let a = Peer("a"), b = Peer("b")
        XCTAssertEqual(s.lease(to: a, now: 0), 0)
        XCTAssertEqual(s.lease(to: b, now: 0), 1)
        XCTAssertEqual(s.workerDied(a), [0])
        XCTAssertEqual(s.lease(to: b, now: 1), 0, "the released chunk is handed out first")
        XCTAssertTrue(s.complete(0))
        XCTAssertFalse(s.complete(0), "a second completion (the dead worker's late reply) is not new")
        XCTAssertEqual(s.expire(now: 10.5), [1])
        XCTAssertEqual(s.lease(to: a, now: 11), 1)
        XCTAssertTrue(s.complete(1))
        XCTAssertEqual(s.lease(to: a, now: 11), 2)
        XCTAssertTrue(s.complete(2))
        XCTAssertTrue(s.finished)
        XCTAssertNil(s.lease(to: a, now: 12))
    }

    func testJobStatusReportsProgress() {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.down.insert(Peer("nobody"))
        _ = startJob(sim, docs: 25, chunkSize: 10)
        sim.run([.message(from: sim.client, Envelope(requestID: 5, body: .jobStatusRequest(JobStatusRequest(jobID: "job1"))), now: sim.now)])
        guard case .jobStatusReply(let r) = sim.clientInbox.last?.body else { return XCTFail("no status") }
        XCTAssertEqual([r.chunksTotal, r.chunksDone, r.docsTotal, r.docsDone], [3, 0, 25, 0])
        XCTAssertFalse(r.finished)
        sim.addWorker("w1")
        sim.advance(0.5)
        sim.run([.message(from: sim.client, Envelope(requestID: 6, body: .jobStatusRequest(JobStatusRequest(jobID: "job1"))), now: sim.now)])
        guard case .jobStatusReply(let r2) = sim.clientInbox.last?.body else { return XCTFail("no status") }
        XCTAssertEqual([r2.chunksDone, r2.docsDone], [3, 25])
        XCTAssertTrue(r2.finished)
        sim.run([.message(from: sim.client, Envelope(requestID: 7, body: .jobStatusRequest(JobStatusRequest(jobID: "nope"))), now: sim.now)])
        XCTAssertEqual(sim.clientInbox.last?.status?.code, .notFound)
    }
}
