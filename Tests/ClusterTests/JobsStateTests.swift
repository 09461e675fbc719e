import XCTest
import Cluster
import Formats
import Wire

/// The Jobs part as events in and actions out, with no socket and no shell: a submission asks
/// the shell to index the corpus, then to store the job, then the job runs; a leased chunk's
/// texts are asked of the shell and sent when they come back; failures of the shell's reads and
/// writes are events that fail the job.
final class JobsStateTests: XCTestCase {
    let client = Peer("client"), other = Peer("client2")

    func corpusFile(_ docs: Int) -> URL {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strata-jobs-\(UUID().uuidString).txt")
        XCTAssertNoThrow(try Data(makeCorpus(docs).map { $0.text + "\n" }.joined().utf8).write(to: file))
        addTeardownBlock { try? FileManager.default.removeItem(at: file) }
        return file
    }

    func request(_ file: URL, chunkSize: Int = 10) -> JobSubmitRequest {
        JobSubmitRequest(corpusPath: file.path, model: "/models/de", outDir: "/jobs/out", chunkSize: chunkSize)
    }

    func indexed(_ m: JobSubmitRequest) throws -> IndexedCorpus {
        IndexedCorpus(request: m, chunkSize: m.chunkSize, index: try TextRecordIndex(path: m.corpusPath))
    }

    /// Sends without logs, as (peer, request id, status code, body).
    func replies(_ actions: [CoordinatorAction]) -> [(Peer, UInt64, StatusCode?, Body)] {
        actions.compactMap { if case .send(let to, let e) = $0 { return (to, e.requestID, e.status?.code, e.body) }; return nil }
    }

    func nonLog(_ actions: [CoordinatorAction]) -> [CoordinatorAction] {
        actions.filter { if case .log = $0 { return false }; return true }
    }

    func testRefusedSubmissionIsAnsweredAndNothingIsRead() {
        var c = Coordinator(config: CoordinatorConfig(), corpus: [])
        let denied = RPCStatus(.permissionDenied, "corpus /etc/passwd resolves outside the jobs root")
        let out = c.handle(.jobSubmitted(from: client, requestID: 4, .refused(denied), now: 0))
        XCTAssertEqual(nonLog(out), [.send(to: client, Envelope(requestID: 4, status: denied, body: .error(denied)))])
        XCTAssertTrue(c.jobs.isEmpty)
        XCTAssertTrue(c.jobsState.pendingSubmissions.isEmpty)
    }

    func testSubmissionIndexesOnceStoresThenAnswersEveryWaiter() throws {
        let m = request(corpusFile(25))
        let id = JobsState.jobID(m, chunkSize: 10)
        var c = Coordinator(config: CoordinatorConfig(), corpus: [])
        XCTAssertEqual(nonLog(c.handle(.jobSubmitted(from: client, requestID: 1, .confined(m), now: 0))),
                       [.indexCorpus(jobID: id, request: m, chunkSize: 10)])
        // The same job again while it is indexed: it waits, no second indexing.
        XCTAssertEqual(nonLog(c.handle(.jobSubmitted(from: other, requestID: 9, .confined(m), now: 0))), [])
        XCTAssertEqual(c.jobsState.pendingSubmissions, [id: 2])
        let spec = JobJournal.Spec(jobID: id, corpusPath: m.corpusPath, model: m.model, outDir: m.outDir, chunkSize: 10, docCount: 25, chunkCount: 3)
        XCTAssertEqual(nonLog(c.handle(.corpusIndexed(jobID: id, .success(try indexed(m)), now: 1))), [.storeJob(spec)])
        XCTAssertNil(c.jobs[id], "not running before its journal is written")
        let stored = replies(c.handle(.jobStored(jobID: id, error: nil, now: 2)))
        XCTAssertEqual(stored.map(\.0), [client, other])
        XCTAssertEqual(stored.map(\.1), [1, 9])
        for r in stored {
            XCTAssertEqual(r.2, .ok)
            XCTAssertEqual(r.3, .jobSubmitReply(JobSubmitReply(jobID: id, chunks: 3)))
        }
        XCTAssertEqual(c.jobs[id]?.spec, spec)
        XCTAssertEqual(c.jobs[id]?.started, 2)
        XCTAssertTrue(c.jobsState.pendingSubmissions.isEmpty)
        // Known now: answered at once, nothing read.
        XCTAssertEqual(nonLog(c.handle(.jobSubmitted(from: client, requestID: 2, .confined(m), now: 3))),
                       [.send(to: client, Envelope(requestID: 2, status: .ok, body: .jobSubmitReply(JobSubmitReply(jobID: id, chunks: 3))))])
    }

    func testDefaultChunkSizeNamesTheJob() {
        var m = request(corpusFile(3)); m.chunkSize = 0
        var c = Coordinator(config: CoordinatorConfig(), corpus: [])
        XCTAssertEqual(nonLog(c.handle(.jobSubmitted(from: client, requestID: 1, .confined(m), now: 0))),
                       [.indexCorpus(jobID: JobsState.jobID(m, chunkSize: ProtocolConstants.jobChunkSize), request: m, chunkSize: ProtocolConstants.jobChunkSize)])
    }

    func testIndexingFailureRefusesEveryWaiterAndForgetsTheJob() {
        let m = request(corpusFile(5))
        let id = JobsState.jobID(m, chunkSize: 10)
        var c = Coordinator(config: CoordinatorConfig(), corpus: [])
        _ = c.handle(.jobSubmitted(from: client, requestID: 1, .confined(m), now: 0))
        _ = c.handle(.jobSubmitted(from: other, requestID: 2, .confined(m), now: 0))
        let bad = RPCStatus(.invalidArgument, "\(m.corpusPath):3: not valid UTF-8")
        let out = c.handle(.corpusIndexed(jobID: id, .failure(bad), now: 1))
        XCTAssertEqual(nonLog(out), [.send(to: client, Envelope(requestID: 1, status: bad, body: .error(bad))),
                                     .send(to: other, Envelope(requestID: 2, status: bad, body: .error(bad)))])
        XCTAssertNil(c.jobs[id])
        // A late or repeated indexing result changes nothing; a new submission indexes again.
        XCTAssertEqual(nonLog(c.handle(.corpusIndexed(jobID: id, .failure(bad), now: 1))), [])
        XCTAssertEqual(nonLog(c.handle(.jobSubmitted(from: client, requestID: 3, .confined(m), now: 2))),
                       [.indexCorpus(jobID: id, request: m, chunkSize: 10)])
    }

    func testStoreFailureRefusesTheWaitersAndRunsNothing() throws {
        let m = request(corpusFile(5))
        let id = JobsState.jobID(m, chunkSize: 10)
        var c = Coordinator(config: CoordinatorConfig(), corpus: [])
        _ = c.handle(.jobSubmitted(from: client, requestID: 1, .confined(m), now: 0))
        _ = c.handle(.corpusIndexed(jobID: id, .success(try indexed(m)), now: 1))
        let taken = RPCStatus(.alreadyExists, "output directory /jobs/out exists and holds something other than this job's output")
        XCTAssertEqual(nonLog(c.handle(.jobStored(jobID: id, error: taken, now: 2))),
                       [.send(to: client, Envelope(requestID: 1, status: taken, body: .error(taken)))])
        XCTAssertNil(c.jobs[id])
    }

    /// A coordinator with one worker that has loaded the DE, and a stored job of `docs` documents.
    func runningJob(docs: Int) throws -> (SimCluster, String) {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1")
        let m = request(corpusFile(docs))
        let id = JobsState.jobID(m, chunkSize: 10)
        _ = sim.coordinator.handle(.jobSubmitted(from: client, requestID: 1, .confined(m), now: sim.now))
        _ = sim.coordinator.handle(.corpusIndexed(jobID: id, .success(try indexed(m)), now: sim.now))
        return (sim, id)
    }

    func testLeasedChunkTextsAreAskedOfTheShellThenSent() throws {
        let (sim, id) = try runningJob(docs: 25)
        let w = Peer("w1")
        let out = sim.coordinator.handle(.jobStored(jobID: id, error: nil, now: sim.now))
        XCTAssertTrue(out.contains(.readChunkTexts(jobID: id, chunk: 0, worker: w)), "\(out)")
        XCTAssertFalse(out.contains { if case .send(_, let e) = $0, case .embedChunkRequest = e.body { return true }; return false },
                       "nothing is sent before the texts are read")
        let texts = Array(makeCorpus(25).map(\.text)[0..<10])
        let sent = replies(sim.coordinator.handle(.chunkTextsRead(jobID: id, chunk: 0, worker: w, texts: texts, now: sim.now)))
        XCTAssertEqual(sent.count, 1)
        XCTAssertEqual(sent.first?.0, w)
        guard case .embedChunkRequest(let r)? = sent.first?.3 else { return XCTFail("no EmbedChunkRequest: \(sent)") }
        XCTAssertEqual(r.jobID, id); XCTAssertEqual(r.chunkIndex, 0); XCTAssertEqual(r.texts, texts)
        XCTAssertEqual(r.model, ProtocolConstants.deModelName, "the job's model is the serving DE's directory")
    }

    func testTextsOfALeaseThatEndedAreNotSent() throws {
        let (sim, id) = try runningJob(docs: 25)
        let w = Peer("w1")
        _ = sim.coordinator.handle(.jobStored(jobID: id, error: nil, now: sim.now))
        // The lease of chunk 0 expires before its read comes back; w1 is given chunk 1 instead
        // (chunk 0 waits out its back-off).
        let later = sim.now + ProtocolConstants.chunkLease + 1
        _ = sim.coordinator.handle(.message(from: w, Envelope(requestID: 0, body: .heartbeat(Heartbeat(workerID: "w1", sequence: 0))), now: later))
        let t = sim.coordinator.handle(.tick(now: later))
        XCTAssertTrue(t.contains(.readChunkTexts(jobID: id, chunk: 1, worker: w)), "\(t)")
        // The late texts of chunk 0 are not sent.
        let texts = Array(makeCorpus(25).map(\.text)[0..<10])
        XCTAssertEqual(nonLog(sim.coordinator.handle(.chunkTextsRead(jobID: id, chunk: 0, worker: w, texts: texts, now: later))), [])
    }

    func testChunkReadFailureFailsTheJobAndJournalsIt() throws {
        let (sim, id) = try runningJob(docs: 25)
        let w = Peer("w1")
        _ = sim.coordinator.handle(.jobStored(jobID: id, error: nil, now: sim.now))
        let out = sim.coordinator.handle(.chunkReadFailed(jobID: id, chunk: 0, worker: w, error: "corpus.txt: truncated since indexing", now: sim.now))
        XCTAssertEqual(nonLog(out), [.failJob(jobID: id, error: "chunk 0: corpus.txt: truncated since indexing")])
        XCTAssertEqual(sim.coordinator.jobs[id]?.error, "chunk 0: corpus.txt: truncated since indexing")
        XCTAssertTrue(sim.coordinator.jobs[id]!.scheduler.leases.isEmpty)
        XCTAssertFalse(nonLog(sim.coordinator.handle(.tick(now: sim.now + 1))).contains { if case .readChunkTexts = $0 { return true }; return false })
    }

    func testPersistFailureFailsTheJobWithoutJournalingIt() throws {
        let (sim, id) = try runningJob(docs: 25)
        sim.run([.jobStored(jobID: id, error: nil, now: sim.now)])
        XCTAssertEqual(sim.persisted.map(\.chunk), [0, 1, 2], "the sim's shell read and sent every chunk")
        let out = sim.coordinator.handle(.persistFailed(jobID: id, error: "cannot write chunk 2: No space left on device", now: sim.now))
        XCTAssertEqual(nonLog(out), [], "not journaled: a restart resumes the job from its durable chunks")
        XCTAssertEqual(sim.coordinator.jobs[id]?.error, "cannot write chunk 2: No space left on device")
        // Its status says so; a second failure does not replace the first.
        _ = sim.coordinator.handle(.persistFailed(jobID: id, error: "cannot assemble the output: EIO", now: sim.now))
        XCTAssertEqual(sim.coordinator.jobs[id]?.error, "cannot write chunk 2: No space left on device")
    }
}

/// The Jobs part's chunk decisions, driven alone (no Coordinator, no worker): lease, completion,
/// failures with back-off and cap, lease expiry, a dead worker, the job's failure.
final class JobsChunkStateTests: XCTestCase {
    func jobs(docs: Int = 30, chunkSize: Int = 10, lease: Double = 30) throws -> JobsState {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strata-jobchunks-\(UUID().uuidString).txt")
        try Data(makeCorpus(docs).map { $0.text + "\n" }.joined().utf8).write(to: file)
        addTeardownBlock { try? FileManager.default.removeItem(at: file) }
        let chunks = (docs + chunkSize - 1) / chunkSize
        let spec = JobJournal.Spec(jobID: "j", corpusPath: file.path, model: "/m", outDir: "/o", chunkSize: chunkSize, docCount: docs, chunkCount: chunks)
        var s = JobsState()
        s.add(JobRun(spec: spec, corpus: try TextRecordIndex(path: file.path), scheduler: JobScheduler(chunkCount: chunks, leaseSeconds: lease),
                     started: 0, doneAtStart: 0))
        return s
    }

    func vectors(_ rows: Int) -> Vectors { Vectors(rows: rows, dimension: 2, data: [Float](repeating: 1, count: rows * 2)) }
    func nonLog(_ a: [CoordinatorAction]) -> [CoordinatorAction] { a.filter { if case .log = $0 { return false }; return true } }
    let w1 = Peer("w1"), w2 = Peer("w2")

    func testLeaseAsksForTextsAndCompletionPersistsThenFinishesOnce() throws {
        var s = try jobs()
        var out: [CoordinatorAction] = []
        for c in 0..<3 { XCTAssertTrue(s.lease("j", to: w1, now: 0, &out)); XCTAssertEqual(out.last, .readChunkTexts(jobID: "j", chunk: c, worker: w1)) }
        XCTAssertFalse(s.lease("j", to: w1, now: 0, &out), "every chunk is leased")
        out = []
        XCTAssertEqual(s.chunkDone("j", 1, vectors(9), &out), .wrongRows(expected: 10))
        XCTAssertEqual(out, [])
        for c in [2, 0, 1] { XCTAssertEqual(s.chunkDone("j", c, vectors(10), &out), .accepted) }
        XCTAssertEqual(s.chunkDone("j", 1, vectors(10), &out), .ignored, "a late duplicate")
        XCTAssertEqual(nonLog(out), [.persistChunk(jobID: "j", chunk: 2, vectors: vectors(10)), .persistChunk(jobID: "j", chunk: 0, vectors: vectors(10)),
                                     .persistChunk(jobID: "j", chunk: 1, vectors: vectors(10)), .finishJob(jobID: "j")])
    }

    func testChunkFailuresBackOffThenFailTheJobAtTheCap() throws {
        var s = try jobs(docs: 10)
        var out: [CoordinatorAction] = []
        var now = 0.0
        for attempt in 1...ProtocolConstants.chunkMaxFailures {
            XCTAssertTrue(s.lease("j", to: w1, now: now, &out), "try \(attempt) is leased once its back-off passed")
            let failed = s.chunkRequestFailed("j", 0, by: w1, RPCStatus(.unavailable, "send to w1 failed: boom"), countsAsFailure: true, now: now, &out)
            XCTAssertEqual(failed, attempt == ProtocolConstants.chunkMaxFailures)
            if !failed {
                XCTAssertFalse(s.lease("j", to: w1, now: now, &out), "not leased again during its back-off")
                now = s.runs["j"]!.scheduler.failures[0]!.nextTry
            }
        }
        XCTAssertEqual(s.runs["j"]!.error, "chunk 0 failed \(ProtocolConstants.chunkMaxFailures) times (last: send to w1 failed: boom)")
        XCTAssertEqual(nonLog(out).filter { if case .failJob = $0 { return true }; return false }, [.failJob(jobID: "j", error: s.runs["j"]!.error)])
        XCTAssertFalse(s.lease("j", to: w1, now: now + 1000, &out), "a failed job leases nothing")
    }

    func testOnlyTheLeaseHolderFailsAChunkAndADeadWorkerIsNotTheChunksFault() throws {
        var s = try jobs(docs: 10)
        var out: [CoordinatorAction] = []
        XCTAssertTrue(s.lease("j", to: w1, now: 0, &out))
        XCTAssertFalse(s.chunkRequestFailed("j", 0, by: w2, RPCStatus(.internalError, "late"), countsAsFailure: true, now: 0, &out))
        XCTAssertEqual(s.runs["j"]!.scheduler.leased(to: w1), [0], "w2's late failure does not touch w1's lease")
        XCTAssertFalse(s.chunkRequestFailed("j", 0, by: w1, RPCStatus(.unavailable, "worker died"), countsAsFailure: false, now: 0, &out))
        XCTAssertNil(s.runs["j"]!.scheduler.failures[0], "not counted")
        XCTAssertTrue(s.lease("j", to: w2, now: 0, &out), "released at once, no back-off")
        XCTAssertTrue(s.chunkRequestFailed("j", 0, by: w2, RPCStatus(.resourceExhausted, "over the frame limit"), countsAsFailure: true, now: 0, &out),
                      "a chunk over a frame fails the job at once")
        XCTAssertEqual(s.runs["j"]!.error, "chunk 0: over the frame limit")
    }

    func testExpiredLeasesAndADeadWorkerReturnChunks() throws {
        var s = try jobs(lease: 5)
        var out: [CoordinatorAction] = []
        XCTAssertTrue(s.lease("j", to: w1, now: 0, &out)); XCTAssertTrue(s.lease("j", to: w2, now: 0, &out))
        s.workerDied(w2, &out)
        XCTAssertEqual(s.runs["j"]!.scheduler.leased(to: w2), [])
        XCTAssertEqual(s.expireLeases(now: 5, &out), [], "one failure is under the cap")
        XCTAssertEqual(s.runs["j"]!.scheduler.failures[0]?.failures, 1)
        XCTAssertTrue(out.contains(.log("job j: leases of chunks [0] expired")), "\(out)")
    }

    func testPersistFailureFailsEvenAnAnnouncedJobButIsNotJournaled() throws {
        var s = try jobs(docs: 10)
        var out: [CoordinatorAction] = []
        XCTAssertTrue(s.lease("j", to: w1, now: 0, &out))
        XCTAssertEqual(s.chunkDone("j", 0, vectors(10), &out), .accepted)
        out = []
        XCTAssertFalse(s.fail("j", "cancelled by a client", &out), "a finished job is not failed by a cancel")
        XCTAssertTrue(s.persistFailed("j", "cannot assemble the output: EIO", &out))
        XCTAssertFalse(s.persistFailed("j", "again", &out), "once")
        XCTAssertEqual(nonLog(out), [], "not journaled")
        XCTAssertEqual(s.runs["j"]!.error, "cannot assemble the output: EIO")
    }
}
