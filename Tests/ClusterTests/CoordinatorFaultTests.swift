import XCTest
import Cluster
import Formats
import Model
import Wire

/// Issue 12's faults 4, 6, 7 and 11 in the coordinator state machine (no sockets): bounded
/// retries with back-off, job failure and cancel, search caps, per-try budget and suspects,
/// indexing progress.
final class CoordinatorFaultTests: XCTestCase {
    func addJob(_ sim: SimCluster, docs: Int, chunkSize: Int, model: String = "/models/de") {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strata-fault-\(UUID().uuidString).txt")
        XCTAssertNoThrow(try Data(makeCorpus(docs).map { $0.text + "\n" }.joined().utf8).write(to: file))
        addTeardownBlock { try? FileManager.default.removeItem(at: file) }
        let chunks = (docs + chunkSize - 1) / chunkSize
        let spec = JobJournal.Spec(jobID: "job1", corpusPath: file.path, model: model, outDir: "/out", chunkSize: chunkSize, docCount: docs, chunkCount: chunks)
        sim.coordinator.addJob(JobRun(spec: spec, corpus: try! TextRecordIndex(path: file.path), scheduler: JobScheduler(chunkCount: chunks, leaseSeconds: 30),
                                      started: sim.now, doneAtStart: 0))
    }

    func status(_ sim: SimCluster, _ job: String) -> JobStatusReply? {
        sim.run([.message(from: sim.client, Envelope(requestID: 500, body: .jobStatusRequest(JobStatusRequest(jobID: job))), now: sim.now)])
        guard case .jobStatusReply(let r)? = sim.clientInbox.last?.body else { return nil }
        return r
    }

    static func isLoad(_ b: Body) -> Bool { if case .loadModelRequest = b { return true }; return false }
    static func isLoad(of path: String) -> (Body) -> Bool { { if case .loadModelRequest(let m) = $0 { return m.path == path }; return false } }

    // MARK: fault 4: a model that cannot load

    func testJobWhoseModelCannotLoadFailsAfterBoundedTriesWithBackoff() {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1"); sim.addWorker("w2")
        addJob(sim, docs: 30, chunkSize: 10, model: "/models/missing-model")
        let bad = Self.isLoad(of: "/models/missing-model")
        sim.run([.tick(now: sim.now)])
        XCTAssertEqual(sim.sent(bad), 2, "one LoadModel per worker, not one per event")
        sim.advance(0.75)
        XCTAssertEqual(sim.sent(bad), 2, "the second try waits out the back-off (1 s)")
        sim.advance(60)
        // 3 tries on each of 2 workers, then the job fails: no more LoadModel (it was ~4,000/s).
        XCTAssertEqual(sim.sent(bad), 2 * ProtocolConstants.loadModelMaxAttempts)
        XCTAssertEqual(sim.failedJobs.map(\.job), ["job1"], "journaled as failed, once")
        let error = sim.failedJobs.first?.error ?? ""
        XCTAssertTrue(error.contains("no model at /models/missing-model"), "the worker's message, naming the file: \(error)")
        guard let st = status(sim, "job1") else { return XCTFail("no status") }
        XCTAssertFalse(st.finished)
        XCTAssertEqual(st.error, error, "job status shows the error")
        XCTAssertTrue(sim.persisted.isEmpty)
    }

    func testServingModelLoadIsRetriedWithBackoffUpToTheCap() {
        let sim = SimCluster(corpus: makeCorpus(20), shards: 2, replication: 1) { $0.deModel = "/models/missing-de" }
        sim.addWorker("w1")
        sim.advance(120)
        XCTAssertEqual(sim.sent(Self.isLoad), ProtocolConstants.loadModelMaxAttempts)
        XCTAssertTrue(sim.logs.contains { $0.contains("giving up on this worker") && $0.contains("no model at /models/missing-de") })
        // A new registration (a restarted worker) gets fresh tries.
        sim.workers[Peer("w1")] = nil
        sim.addWorker("w1")
        sim.advance(120)
        XCTAssertEqual(sim.sent(Self.isLoad), 2 * ProtocolConstants.loadModelMaxAttempts)
    }

    func testWorkerThatCannotLoadTheDEGetsNoShards() {
        let corpus = makeCorpus(40)
        let sim = SimCluster(corpus: corpus, shards: 2, replication: 1, placementDelay: 0.5)
        // w1 is told a DE path it cannot load (its file system lacks it); w2 loads it.
        sim.tamper = { w, env in
            if w == Peer("w1"), case .loadModelReply(let m) = env.body, m.name == ProtocolConstants.deModelName {
                return Envelope(requestID: env.requestID, status: RPCStatus(.notFound, "no model at /models/de on w1"), body: .error(RPCStatus(.notFound, "no model at /models/de on w1")))
            }
            return env
        }
        sim.addWorker("w1"); sim.addWorker("w2")
        sim.advance(30)
        XCTAssertTrue(sim.coordinator.ready, "every shard ended on w2")
        XCTAssertTrue(sim.coordinator.shardMap.shards.allSatisfy { $0.ready == [Peer("w2")] })
        guard let e = sim.search("lease", k: 5), case .searchReply(let r) = e.body else { return XCTFail("no reply") }
        XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, "lease", k: 5))
    }

    func testChunkFailingOnEveryTryFailsTheJobAfterTheCap() {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1")
        sim.tamper = { _, env in
            if case .embedChunkReply = env.body { return Envelope(requestID: env.requestID, status: RPCStatus(.internalError, "disk on fire"), body: .error(RPCStatus(.internalError, "disk on fire"))) }
            return env
        }
        addJob(sim, docs: 10, chunkSize: 10)
        sim.advance(300)
        let chunkRequests = sim.sent { if case .embedChunkRequest = $0 { return true }; return false }
        XCTAssertEqual(chunkRequests, ProtocolConstants.chunkMaxFailures, "one chunk tried chunkMaxFailures times, with back-off between")
        XCTAssertEqual(sim.failedJobs.map(\.job), ["job1"])
        XCTAssertTrue(sim.failedJobs[0].error.contains("disk on fire"))
    }

    func testFailedShardAssignmentBacksOffAndStopsAtTheCap() {
        let sim = SimCluster(corpus: makeCorpus(40), shards: 2, replication: 1)
        sim.tamper = { _, env in
            if case .assignShardReply = env.body { return Envelope(requestID: env.requestID, status: RPCStatus(.internalError, "no space"), body: .error(RPCStatus(.internalError, "no space"))) }
            return env
        }
        sim.addWorker("w1")
        sim.advance(600)
        let assigns = sim.sent { if case .assignShardRequest = $0 { return true }; return false }
        XCTAssertEqual(assigns, 2 * ProtocolConstants.assignShardMaxAttempts, "each shard tried assignShardMaxAttempts times, not at every tick")
        XCTAssertTrue(sim.logs.contains { $0.contains("waiting for a new worker") })
        XCTAssertFalse(sim.coordinator.ready)
    }

    func testCancelStopsARunningJobAndLeavesAFinishedOneAlone() {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1")
        sim.blackhole.insert(Peer("w1"))   // the first chunk stays in flight
        addJob(sim, docs: 30, chunkSize: 10)
        sim.run([.tick(now: sim.now)])
        sim.run([.message(from: sim.client, Envelope(requestID: 7, body: .jobCancelRequest(JobCancelRequest(jobID: "job1"))), now: sim.now)])
        guard case .jobCancelReply(let r)? = sim.clientInbox.last?.body else { return XCTFail("no cancel reply: \(sim.clientInbox)") }
        XCTAssertTrue(r.cancelled)
        XCTAssertEqual(r.error, "cancelled by a client")
        XCTAssertEqual(sim.failedJobs.map(\.job), ["job1"])
        sim.blackhole.remove(Peer("w1"))
        sim.advance(5)
        XCTAssertTrue(sim.persisted.isEmpty, "nothing of a cancelled job is written")
        XCTAssertEqual(status(sim, "job1")?.error, "cancelled by a client")
        // again: nothing changes
        sim.run([.message(from: sim.client, Envelope(requestID: 8, body: .jobCancelRequest(JobCancelRequest(jobID: "job1"))), now: sim.now)])
        guard case .jobCancelReply(let r2)? = sim.clientInbox.last?.body else { return XCTFail("no reply") }
        XCTAssertFalse(r2.cancelled)
        XCTAssertEqual(sim.failedJobs.count, 1)
        // unknown job
        sim.run([.message(from: sim.client, Envelope(requestID: 9, body: .jobCancelRequest(JobCancelRequest(jobID: "nope"))), now: sim.now)])
        XCTAssertEqual(sim.clientInbox.last?.status?.code, .notFound)
    }

    func testBackoffDoublesUpToItsCap() {
        XCTAssertEqual((1...7).map { RetryState.delay(afterFailures: $0) }, [1, 2, 4, 8, 16, 30, 30])
        var r = RetryState()
        XCTAssertTrue(r.mayTry(now: 0, cap: 2))
        r.failed("x", now: 10)
        XCTAssertFalse(r.mayTry(now: 10.5, cap: 2), "waiting out the back-off")
        XCTAssertTrue(r.mayTry(now: 11, cap: 2))
        r.failed("y", now: 11)
        XCTAssertFalse(r.mayTry(now: 1000, cap: 2), "capped")
        XCTAssertEqual(r.lastError, "y")
    }

    func testJournalReplaysAFailedJob() {
        let spec = JobJournal.Spec(jobID: "j", corpusPath: "/c", model: "/m", outDir: "/o", chunkSize: 10, docCount: 20, chunkCount: 2)
        let text = JobJournal.specLine(spec) + JobJournal.doneLine(chunk: 0, rows: 10, crc: 5) + JobJournal.failedLine("model /m:\nno\tfile")
        let j = JobJournal.replay(text)
        XCTAssertEqual(j?.failed, "model /m: no file", "one line: newlines and tabs become spaces")
        XCTAssertEqual(j?.done.keys.sorted(), [0])
    }

    func testLogLinesAndErrorsAreCapped() {
        let huge = String(repeating: "é", count: 3_000_000)   // 6 MB
        let line = LogLine.cap("request failed: " + huge)
        XCTAssertLessThan(line.utf8.count, ProtocolConstants.maxLogLineBytes + 100)
        XCTAssertTrue(line.hasSuffix("[cut: \(6_000_016) bytes in all]"), String(line.suffix(60)))
        XCTAssertEqual(LogLine.cap("short"), "short")
        // through the state machine: a worker error carrying a whole request is logged capped
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1")
        sim.tamper = { _, env in
            if case .embedChunkReply = env.body { return Envelope(requestID: env.requestID, status: RPCStatus(.internalError, huge), body: .error(RPCStatus(.internalError, huge))) }
            return env
        }
        addJob(sim, docs: 10, chunkSize: 10)
        sim.advance(1)
        XCTAssertFalse(sim.logs.isEmpty)
        XCTAssertTrue(sim.logs.allSatisfy { $0.utf8.count <= ProtocolConstants.maxLogLineBytes + 100 })
    }

    // MARK: fault 6: caps

    func testSearchCapsAreInvalidArgument() {
        let sim = SimCluster(corpus: makeCorpus(50), shards: 2, replication: 1, ce: true)
        sim.addWorker("w1")
        let maxK = ProtocolConstants.defaultMaxTopK, maxR = ProtocolConstants.defaultMaxRerank
        XCTAssertEqual(sim.search("q", k: 10_000, rerank: true, rerankTop: 10_000)?.status?.code, .invalidArgument, "the request that stalled everyone")
        XCTAssertEqual(sim.search("q", k: maxK + 1)?.status?.code, .invalidArgument)
        XCTAssertEqual(sim.search("q", k: 10, rerank: true, rerankTop: maxR + 1)?.status?.code, .invalidArgument)
        XCTAssertEqual(sim.search("q", k: maxR + 1, rerank: true)?.status?.code, .invalidArgument, "rerank depth defaults to top_k")
        XCTAssertTrue(sim.search("q", k: maxK + 1)?.status.map { $0.message.contains("--max-top-k") } ?? false)
        XCTAssertEqual(sim.search("q", k: maxK)?.status?.code, .ok)
        XCTAssertEqual(sim.search("q", k: 10, rerank: true, rerankTop: maxR)?.status?.code, .ok)
        // configurable
        let tight = SimCluster(corpus: makeCorpus(50), shards: 2, replication: 1, ce: true) { $0.maxTopK = 5; $0.maxRerank = 8 }
        tight.addWorker("w1")
        XCTAssertEqual(tight.search("q", k: 6)?.status?.code, .invalidArgument)
        XCTAssertEqual(tight.search("q", k: 5, rerank: true, rerankTop: 9)?.status?.code, .invalidArgument)
        XCTAssertEqual(tight.search("q", k: 5, rerank: true, rerankTop: 8)?.status?.code, .ok)
    }

    func testWorkerRequestsCarryTheSearchDeadline() {
        let sim = SimCluster(corpus: makeCorpus(50), shards: 2, replication: 1, ce: true)
        sim.addWorker("w1")
        let before = sim.sentToWorkers.count
        let start = sim.now
        _ = sim.search("kernel", k: 5, rerank: true, rerankTop: 10)
        let serving = sim.sentToWorkers[before...].filter {
            switch $0.env.body { case .embedBatchRequest, .searchShardRequest, .rerankRequest: return true default: return false }
        }
        XCTAssertEqual(serving.count, 4, "embed, 2 shard searches, 1 rerank part")
        XCTAssertTrue(serving.allSatisfy { $0.env.deadlineUnixMs == Int64((start + 2) * 1000) }, "each carries the search's deadline (2 s here)")
    }

    // MARK: fault 7: failover

    func testSlowReplicaIsRetriedOnAnotherWithinTheDeadline() {
        let corpus = makeCorpus(120)
        let sim = SimCluster(corpus: corpus, shards: 4, replication: 2) { $0.searchDeadline = 5 }
        sim.addWorker("w1"); sim.addWorker("w2")
        XCTAssertTrue(sim.coordinator.shardMap.shards.allSatisfy { $0.ready.count == 2 })
        // w2 heartbeats but never answers (hung): each of its requests is retried on w1 after the budget.
        sim.blackhole.insert(Peer("w2"))
        for q in ["apt zmq", "kernel vector", "lease chunk", "merge query"] {
            let t0 = sim.now
            guard let e = sim.search(q, k: 10, wait: 6, step: 0.05), case .searchReply(let r) = e.body else { return XCTFail("no reply") }
            XCTAssertFalse(r.partial, "\(q): complete from the other replica")
            XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, q, k: 10))
            XCTAssertLessThanOrEqual(sim.now - t0, 2 * ProtocolConstants.searchTryBudget + 0.2, "\(q): two tries at most (embed, shards), not the 5 s deadline")
        }
    }

    func testDroppedConnectionMakesWorkerSuspectAndLiveShardsAreNeverMissing() {
        let corpus = makeCorpus(120)
        let sim = SimCluster(corpus: corpus, shards: 4, replication: 1) { $0.searchDeadline = 10 }
        sim.addWorker("w1"); sim.addWorker("w2")
        sim.advance(0.5)   // the rebalance completes: w1 drops the copies w2 took
        let w2Shards = sim.coordinator.shardMap.shards.filter { $0.ready.contains(Peer("w2")) }.map(\.id)
        XCTAssertEqual(w2Shards.count, 2)
        XCTAssertTrue(sim.coordinator.shardMap.shards.allSatisfy { $0.ready.count == 1 })
        // kill -9 of w2: its connection drops (socket monitor), then silence.
        sim.down.insert(Peer("w2"))
        sim.run([.connectionLost(Peer("w2"), now: sim.now)])
        XCTAssertEqual(sim.coordinator.suspectWorkers, [Peer("w2")])
        let t0 = sim.now
        guard let e = sim.search("apt zmq", k: 10, wait: 1, step: 0.05), case .searchReply(let r) = e.body else { return XCTFail("no prompt reply") }
        XCTAssertLessThan(sim.now - t0, 0.1, "answered at once, not at the deadline")
        XCTAssertEqual(r.missingShards, w2Shards, "only the dead worker's shards are missing; the live worker's never")
        // after the grace w2 is dead and its shards move to w1: complete again
        sim.advance(ProtocolConstants.suspectGrace + 0.5)
        XCTAssertEqual(sim.coordinator.liveWorkers, [Peer("w1")])
        XCTAssertTrue(sim.logs.contains { $0.contains("connection dropped and silent") })
        guard let e2 = sim.search("apt zmq", k: 10), case .searchReply(let r2) = e2.body else { return XCTFail("no reply") }
        XCTAssertFalse(r2.partial)
        XCTAssertEqual(r2.hits, SimCluster.bruteForce(corpus, "apt zmq", k: 10))
    }

    func testInFlightRequestsOfADroppedWorkerGoToTheReplicaAtOnce() {
        let corpus = makeCorpus(90)
        let sim = SimCluster(corpus: corpus, shards: 3, replication: 2)
        sim.addWorker("w1"); sim.addWorker("w2")
        sim.blackhole.insert(Peer("w2"))
        // searches started while w2 was hung; then its connection drops: no waiting for the budget
        var ids: [UInt64] = []
        for i in 0..<4 {
            let id = UInt64(900 + i); ids.append(id)
            sim.run([.message(from: sim.client, Envelope(requestID: id, body: .searchRequest(SearchRequest(query: "vector \(i)", topK: 5))), now: sim.now)])
        }
        sim.down.insert(Peer("w2"))
        sim.run([.connectionLost(Peer("w2"), now: sim.now)])
        for id in ids {
            guard let e = sim.clientInbox.first(where: { $0.requestID == id }), case .searchReply(let r) = e.body else { return XCTFail("search \(id) not answered at once") }
            XCTAssertFalse(r.partial)
        }
    }

    /// A worker that registers again is a new incarnation: the old session's requests are failed
    /// over to the other replica at once, and a reply the old session sends later is dropped.
    func testReplyFromAWorkersEarlierIncarnationIsDropped() {
        let corpus = makeCorpus(60)
        let sim = SimCluster(corpus: corpus, shards: 2, replication: 2) { $0.searchDeadline = 10; $0.searchTryBudget = 5 }
        sim.addWorker("w1"); sim.addWorker("w2")
        XCTAssertTrue(sim.coordinator.shardMap.shards.allSatisfy { $0.ready.count == 2 })
        sim.blackhole.insert(Peer("w2"))
        // Searches until one has a request in flight on the hung w2.
        var hung: [(to: Peer, env: Envelope)] = []
        for i in 0..<6 where hung.isEmpty {
            let before = sim.sentToWorkers.count
            sim.run([.message(from: sim.client, Envelope(requestID: UInt64(700 + i), body: .searchRequest(SearchRequest(query: "vector \(i)", topK: 5))), now: sim.now)])
            hung = sim.sentToWorkers[before...].filter { $0.to == Peer("w2") }
        }
        XCTAssertFalse(hung.isEmpty, "round-robin sent something to w2")
        let open = sim.coordinator.search.searches.count
        XCTAssertEqual(open, 1, "the search with a try on w2 waits")
        // w2 restarts and registers again: its old requests go to w1 now, and the search is answered.
        sim.blackhole.remove(Peer("w2"))
        sim.addWorker("w2")
        XCTAssertTrue(sim.logs.contains { $0.contains("re-registered") })
        XCTAssertEqual(sim.coordinator.search.searches.count, 0)
        let answered = sim.clientInbox.count
        // The old incarnation's reply to its shard search (forged hits) arrives late: dropped.
        let logs = sim.logs.count, sent = sim.sentToWorkers.count
        for h in hung {
            let body: Body
            switch h.env.body {
            case .searchShardRequest(let m): body = .searchShardReply(SearchShardReply(shardID: m.shardID, hits: [Hit(docIndex: 1, docID: "forged", score: 99)]))
            case .embedBatchRequest: body = .embedBatchReply(EmbedBatchReply(vectors: Vectors(rows: 1, dimension: HashEngine.vector("stale").count, data: HashEngine.vector("stale"))))
            default: continue
            }
            sim.run([.message(from: Peer("w2"), Envelope(requestID: h.env.requestID, status: .ok, body: body), now: sim.now)])
        }
        XCTAssertEqual(sim.clientInbox.count, answered, "no second answer")
        XCTAssertEqual(sim.logs.count, logs, "not even looked at: \(sim.logs.suffix(3))")
        XCTAssertEqual(sim.sentToWorkers.count, sent, "nothing sent back")
        for e in sim.clientInbox {
            guard case .searchReply(let r) = e.body else { return XCTFail("\(e)") }
            XCTAssertFalse(r.partial)
            XCTAssertFalse(r.hits.contains { $0.docID == "forged" })
        }
    }

    func testSuspectThatSpeaksAgainIsCleared() {
        let sim = SimCluster(corpus: makeCorpus(40), shards: 2, replication: 1)
        sim.addWorker("w1")
        sim.run([.connectionLost(Peer("w1"), now: sim.now)])
        XCTAssertEqual(sim.coordinator.suspectWorkers, [Peer("w1")])
        sim.advance(0.5)   // it heartbeats (reconnected)
        XCTAssertEqual(sim.coordinator.suspectWorkers, [])
        sim.advance(ProtocolConstants.suspectGrace + 1)
        XCTAssertEqual(sim.coordinator.liveWorkers, [Peer("w1")], "not declared dead")
        sim.run([.connectionLost(Peer("nobody"), now: sim.now)])
        XCTAssertEqual(sim.coordinator.suspectWorkers, [], "an unknown peer is ignored")
    }

    func testConnectionTableNamesThePeersOfADroppedConnection() {
        var t = ConnectionTable()
        t.saw(Peer("a"), fd: 7); t.saw(Peer("b"), fd: 8); t.saw(Peer("c"), fd: 7); t.saw(Peer("x"), fd: -1)
        t.saw(Peer("c"), fd: 9)   // c reconnected on another connection
        XCTAssertEqual(t.dropped(fd: 7), [Peer("a")])
        XCTAssertEqual(t.dropped(fd: 7), [], "forgotten")
        XCTAssertEqual(t.dropped(fd: 9), [Peer("c")])
        XCTAssertEqual(t.dropped(fd: -1), [])
    }

    // MARK: fault 11: progress

    func testClusterStatusReportsIndexingProgress() {
        let corpus = makeCorpus(100)
        let sim = SimCluster(corpus: corpus, shards: 4, replication: 1, placementDelay: 0.5)
        sim.blackhole.insert(Peer("w1"))   // its shards stay in flight
        sim.addWorker("w2")
        sim.addWorker("w1")
        sim.advance(1.5)
        var st = sim.coordinator.clusterStatus(sim.now)
        XCTAssertEqual(st.docsTotal, 100)
        XCTAssertEqual(st.shards.count, 4)
        XCTAssertEqual(st.shards.map(\.documents).reduce(0, +), 100)
        XCTAssertFalse(st.ready)
        XCTAssertTrue(st.shards.contains { $0.replicasReady == 0 && $0.indexingSeconds >= 1 }, "\(st.shards)")
        XCTAssertGreaterThan(st.docsReady, 0)
        XCTAssertGreaterThan(st.docsPerSecond, 0)
        XCTAssertGreaterThan(st.etaSeconds, 0)
        sim.blackhole.remove(Peer("w1"))
        sim.advance(400)   // the lost AssignShards time out and are sent again
        st = sim.coordinator.clusterStatus(sim.now)
        XCTAssertTrue(st.ready)
        XCTAssertEqual(st.docsReady, 100)
        XCTAssertEqual(st.etaSeconds, 0)
        XCTAssertTrue(st.shards.allSatisfy { $0.replicasReady == 1 && $0.indexingSeconds == 0 })
    }
}
