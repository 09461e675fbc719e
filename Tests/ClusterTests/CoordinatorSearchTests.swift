import XCTest
import Cluster
import Wire

/// Scatter-gather search through the coordinator state machine and in-memory workers.
final class CoordinatorSearchTests: XCTestCase {
    func hits(_ e: Envelope?, file: StaticString = #filePath, line: UInt = #line) -> SearchReply? {
        guard let e else { XCTFail("no reply", file: file, line: line); return nil }
        guard case .searchReply(let r) = e.body else { XCTFail("not a search reply: \(e)", file: file, line: line); return nil }
        return r
    }

    func testMergedResultsEqualBruteForce() {
        let corpus = makeCorpus(300)
        let sim = SimCluster(corpus: corpus, shards: 5, replication: 1)
        sim.addWorker("w1"); sim.addWorker("w2")
        XCTAssertTrue(sim.coordinator.ready)
        for q in ["zmq shard merge", "日本 épée", "heartbeat lease chunk kernel", "x"] {
            for k in [1, 7, 50] {
                guard let r = hits(sim.search(q, k: k)) else { return }
                XCTAssertFalse(r.partial)
                XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, q, k: k), "query \(q) k \(k)")
            }
        }
    }

    func testTiesAreOrderedByDocumentIndex() {
        // Many identical documents: every score ties; the order must be by global index.
        let corpus = (0..<40).map { Document(id: "d\($0)", text: "same text") }
        let sim = SimCluster(corpus: corpus, shards: 4, replication: 1)
        sim.addWorker("a"); sim.addWorker("b")
        guard let r = hits(sim.search("same", k: 15)) else { return }
        XCTAssertEqual(r.hits.map(\.docIndex), Array(0..<15))
    }

    func testDeadWorkerIsDetectedAndItsShardsMoveToTheSurvivor() {
        let corpus = makeCorpus(100)
        let sim = SimCluster(corpus: corpus, shards: 4, replication: 1)
        sim.addWorker("w1"); sim.addWorker("w2")
        XCTAssertEqual(sim.coordinator.liveWorkers.count, 2)
        sim.down.insert(Peer("w2"))
        sim.advance(2.5)
        XCTAssertEqual(sim.coordinator.liveWorkers.count, 2, "2.5 s of silence is under 3 heartbeats")
        sim.advance(1.0)
        XCTAssertEqual(sim.coordinator.liveWorkers, [Peer("w1")], "3 missed heartbeats = dead")
        XCTAssertTrue(sim.logs.contains { $0.contains("w2 missed 3 heartbeats") })
        XCTAssertTrue(sim.coordinator.ready, "w1 re-indexed the shards of w2")
        guard let r = hits(sim.search("kernel vector", k: 10)) else { return }
        XCTAssertFalse(r.partial)
        XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, "kernel vector", k: 10))
    }

    func testBlackHoledReplicaGivesPartialResultAtDeadline() {
        let corpus = makeCorpus(120)
        let sim = SimCluster(corpus: corpus, shards: 4, replication: 1)
        sim.addWorker("w1"); sim.addWorker("w2")
        let w2Shards = sim.coordinator.shardMap.shards.filter { $0.ready.contains(Peer("w2")) }.map(\.id)
        XCTAssertFalse(w2Shards.isEmpty)
        // w2 keeps heartbeating but answers nothing: only the deadline can end the query.
        sim.blackhole.insert(Peer("w2"))
        // make sure w1 embeds the query: try until the embed went to w1 (round robin)
        var reply: SearchReply? = nil
        for _ in 0..<4 {
            guard let e = sim.search("apt zmq", k: 10, wait: 3) else { continue }
            if case .searchReply(let r) = e.body { reply = r; break }
        }
        guard let r = reply else { return XCTFail("no search reply") }
        XCTAssertTrue(r.partial)
        XCTAssertEqual(r.missingShards, w2Shards)
        let allowed = Set(sim.coordinator.shardMap.shards.filter { !w2Shards.contains($0.id) }.flatMap { Array($0.range) })
        XCTAssertTrue(r.hits.allSatisfy { allowed.contains($0.docIndex) })
        let subset = corpus.enumerated().filter { allowed.contains($0.offset) }
        let expect = SimCluster.bruteForce(corpus, "apt zmq", k: corpus.count).filter { allowed.contains($0.docIndex) }.prefix(10)
        XCTAssertEqual(r.hits, Array(expect), "partial results are still exact over the shards that answered (\(subset.count) docs)")
    }

    func testReplicaAnswersWhenOneCopyIsDown() {
        let corpus = makeCorpus(150)
        let sim = SimCluster(corpus: corpus, shards: 3, replication: 2)
        sim.addWorker("w1"); sim.addWorker("w2"); sim.addWorker("w3")
        sim.advance(0.5) // the rebalance onto w3 completes
        XCTAssertTrue(sim.coordinator.shardMap.shards.allSatisfy { $0.ready.count == 2 })
        sim.down.insert(Peer("w3"))
        // Before the heartbeat timeout: requests to w3 are lost; after it, they go to the replica.
        sim.advance(3.5)
        for q in ["merge lease", "vector chunk"] {
            guard let r = hits(sim.search(q, k: 20)) else { return }
            XCTAssertFalse(r.partial)
            XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, q, k: 20))
        }
    }

    func testNoReplicaLeftIsFlaggedPartial() {
        let corpus = makeCorpus(80)
        let sim = SimCluster(corpus: corpus, shards: 2, replication: 1)
        sim.addWorker("only")
        sim.down.insert(Peer("only"))
        sim.advance(3.5)
        XCTAssertTrue(sim.coordinator.liveWorkers.isEmpty)
        guard let e = sim.search("apt", k: 5) else { return XCTFail("a query must never hang") }
        XCTAssertEqual(e.status?.code, .unavailable)
    }

    func testRerankReordersTheGlobalCandidatesAcrossWorkers() {
        let corpus = makeCorpus(200)
        let sim = SimCluster(corpus: corpus, shards: 4, replication: 1, ce: true)
        sim.addWorker("w1"); sim.addWorker("w2")
        let q = "shard query merge"
        guard let r = hits(sim.search(q, k: 10, rerank: true, rerankTop: 40)) else { return }
        XCTAssertFalse(r.partial)
        let candidates = SimCluster.bruteForce(corpus, q, k: 40)
        let expect = candidates.map { Hit(docIndex: $0.docIndex, docID: $0.docID, score: HashEngine.score(q, corpus[$0.docIndex].text)) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : $0.docIndex < $1.docIndex }.prefix(10)
        XCTAssertEqual(r.hits, Array(expect))
        XCTAssertNotEqual(r.hits.map(\.docIndex), SimCluster.bruteForce(corpus, q, k: 10).map(\.docIndex), "the CE changed the order")
    }

    func testClientDeadlineIsHonoured() {
        let sim = SimCluster(corpus: makeCorpus(40), shards: 2, replication: 1)
        sim.addWorker("w1"); sim.addWorker("w2")
        sim.blackhole.insert(Peer("w2"))
        // a client deadline 0.5 s ahead ends the query long before the 2 s default
        let id: UInt64 = 99
        sim.run([.message(from: sim.client, Envelope(requestID: id, deadlineUnixMs: Int64((sim.now + 0.5) * 1000),
                                                     body: .searchRequest(SearchRequest(query: "apt", topK: 3))), now: sim.now)])
        sim.advance(0.75)
        XCTAssertTrue(sim.clientInbox.contains { $0.requestID == id }, "answered at the client's deadline")
        // a deadline already past is refused at once
        sim.run([.message(from: sim.client, Envelope(requestID: 100, deadlineUnixMs: Int64((sim.now - 1) * 1000),
                                                     body: .searchRequest(SearchRequest(query: "apt", topK: 3))), now: sim.now)])
        XCTAssertEqual(sim.clientInbox.last?.status?.code, .deadlineExceeded)
    }

    func testBadRequestsGetClearStatuses() {
        let sim = SimCluster(corpus: makeCorpus(10), shards: 1, replication: 1)
        sim.addWorker("w")
        XCTAssertEqual(sim.search("", k: 5)?.status?.code, .invalidArgument)
        XCTAssertEqual(sim.search("q", k: 0)?.status?.code, .invalidArgument)
        XCTAssertEqual(sim.search("q", k: 5, rerank: true)?.status?.code, .failedPrecondition, "no CE configured")
        sim.run([.badFrame(from: sim.client, WireError(.invalidArgument, "garbage", requestID: 77), now: sim.now)])
        XCTAssertEqual(sim.clientInbox.last?.requestID, 77)
        XCTAssertEqual(sim.clientInbox.last?.status?.code, .invalidArgument)
    }

    func testWorkerAddedAtRuntimeGetsShardsWithoutInterruptingQueries() {
        let corpus = makeCorpus(160)
        let sim = SimCluster(corpus: corpus, shards: 4, replication: 1)
        sim.addWorker("w1")
        XCTAssertEqual(sim.coordinator.shardMap.shards.filter { $0.ready.contains(Peer("w1")) }.count, 4)
        sim.addWorker("w2")
        // Between assignment and the next tick both copies exist; queries stay complete.
        guard let r1 = hits(sim.search("lease", k: 10)) else { return }
        XCTAssertFalse(r1.partial)
        sim.advance(0.5)
        let on1 = sim.coordinator.shardMap.shards.filter { $0.assigned.contains(Peer("w1")) }.count
        let on2 = sim.coordinator.shardMap.shards.filter { $0.assigned.contains(Peer("w2")) }.count
        XCTAssertEqual([on1, on2], [2, 2], "rebalanced to 2 + 2")
        XCTAssertTrue(sim.coordinator.shardMap.shards.allSatisfy { $0.assigned.count == 1 && $0.ready.count == 1 })
        guard let r2 = hits(sim.search("lease", k: 10)) else { return }
        XCTAssertFalse(r2.partial)
        XCTAssertEqual(r2.hits, SimCluster.bruteForce(corpus, "lease", k: 10))
        // stable: more ticks move nothing
        let moves = sim.logs.filter { $0.hasPrefix("assign") || $0.contains("dropping") }.count
        sim.advance(3)
        XCTAssertEqual(sim.logs.filter { $0.hasPrefix("assign") || $0.contains("dropping") }.count, moves)
    }

    func testRebalanceWithReplicationMovesEachShardOnce() {
        let sim = SimCluster(corpus: makeCorpus(90), shards: 3, replication: 2)
        sim.addWorker("w1"); sim.addWorker("w2")
        sim.addWorker("w3")
        sim.advance(2)
        let loads = ["w1", "w2", "w3"].map { w in sim.coordinator.shardMap.shards.filter { $0.assigned.contains(Peer(w)) }.count }
        XCTAssertEqual(loads, [2, 2, 2])
        XCTAssertEqual(sim.logs.filter { $0.contains("dropping") }.count, 2, "two replicas moved to w3, none shuffled back and forth")
        XCTAssertTrue(sim.coordinator.shardMap.shards.allSatisfy { $0.ready.count == 2 })
    }

    func testPlacementWaitsForWorkersStartingTogether() {
        let sim = SimCluster(corpus: makeCorpus(80), shards: 4, replication: 1, placementDelay: 1)
        sim.addWorker("w1")
        sim.advance(0.25)
        sim.addWorker("w2")
        XCTAssertFalse(sim.coordinator.ready, "nothing placed during the settle time")
        sim.advance(1)
        XCTAssertTrue(sim.coordinator.ready)
        let loads = ["w1", "w2"].map { w in sim.coordinator.shardMap.shards.filter { $0.assigned.contains(Peer(w)) }.count }
        XCTAssertEqual(loads, [2, 2])
        XCTAssertFalse(sim.logs.contains { $0.contains("dropping") }, "no shard was indexed twice")
    }

    func testRestartedCoordinatorGivesWorkersBackTheirOwnShards() {
        let corpus = makeCorpus(120)
        // Workers join one by one: rebalancing leaves a layout unlike a fresh round-robin placement.
        let sim = SimCluster(corpus: corpus, shards: 6, replication: 1)
        sim.addWorker("w1"); sim.advance(0.5)
        sim.addWorker("w2"); sim.advance(0.5)
        sim.addWorker("w3"); sim.advance(0.5)
        XCTAssertTrue(sim.coordinator.ready)
        let before = sim.coordinator.shardMap.shards.map(\.assigned)
        let fresh = (0..<6).map { [Peer(["w1", "w2", "w3"][$0 % 3])] }
        XCTAssertNotEqual(before, fresh, "the scenario needs a layout a fresh placement would not make")
        let calls = sim.workers.values.map { ($0.engine as! HashEngine).embedCalls }.reduce(0, +)
        // A new coordinator (restart); workers register again in another order, with their stores.
        var cfg = sim.coordinator.config
        cfg.placementDelay = 1
        sim.coordinator = Coordinator(config: cfg, corpus: corpus)
        sim.addWorker("w3"); sim.addWorker("w1"); sim.addWorker("w2")
        sim.advance(1.5)
        XCTAssertTrue(sim.coordinator.ready)
        XCTAssertEqual(sim.coordinator.shardMap.shards.map(\.assigned), before, "each worker got its own shards back")
        XCTAssertEqual(sim.workers.values.map { ($0.engine as! HashEngine).embedCalls }.reduce(0, +), calls, "nothing re-embedded")
        guard let r = hits(sim.search("lease merge", k: 10)) else { return }
        XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, "lease merge", k: 10))
    }

    func testInvalidWorkerHitsAreDroppedNotTrusted() {
        let corpus = makeCorpus(100)
        let sim = SimCluster(corpus: corpus, shards: 2, replication: 1)
        sim.addWorker("w1"); sim.addWorker("w2")
        sim.advance(0.5) // the rebalance completes: each worker holds one shard
        XCTAssertEqual(["w1", "w2"].map { w in sim.coordinator.shardMap.shards.filter { $0.ready == [Peer(w)] }.count }, [1, 1])
        // w2 answers shard searches with hits outside its shard, past the corpus, and with a wrong id.
        sim.tamper = { peer, env in
            guard peer == Peer("w2"), case .searchShardReply(var r) = env.body else { return env }
            r.hits = [Hit(docIndex: 1_000_000, docID: "doc1000000", score: 99), Hit(docIndex: Int.max, docID: "x", score: 98),
                      Hit(docIndex: r.hits[0].docIndex, docID: "not-the-id", score: 97)] + r.hits
            if let other = sim.coordinator.shardMap.shards.first(where: { !$0.range.contains(r.hits[3].docIndex) }) {
                r.hits.append(Hit(docIndex: other.range.lowerBound, docID: corpus[other.range.lowerBound].id, score: 96))
            }
            return Envelope(requestID: env.requestID, status: env.status, body: .searchShardReply(r))
        }
        guard let r = hits(sim.search("kernel vector", k: 10)) else { return }
        XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, "kernel vector", k: 10), "only the valid hits count")
        XCTAssertTrue(sim.logs.contains { $0.contains("dropped 4 invalid hit(s) from w2") }, sim.logs.joined(separator: "\n"))
    }

    func testUnansweredWorkerRequestsTimeOutAndAreRetried() {
        let corpus = makeCorpus(80)
        let sim = SimCluster(corpus: corpus, shards: 2, replication: 1) { cfg in
            cfg.loadModelTimeout = 3; cfg.assignShardTimeout = 2; cfg.assignShardTimeoutPerDocument = 0.01; cfg.dropShardTimeout = 2
        }
        sim.addWorker("w1")
        // w2 heartbeats but loses every request: its LoadModel and the AssignShard of the rebalance.
        sim.blackhole.insert(Peer("w2"))
        sim.addWorker("w2")
        XCTAssertTrue(sim.logs.contains { $0.contains("to w2") && $0.hasPrefix("assign shard") })
        sim.advance(2.25)
        XCTAssertFalse(sim.logs.contains { $0.contains("no answer from w2") }, "not before the deadlines")
        sim.advance(1.0)
        XCTAssertTrue(sim.logs.contains { $0.contains("assignShard") && $0.contains("no answer from w2 within 2.4 s") }, sim.logs.joined(separator: "\n"))
        XCTAssertTrue(sim.logs.contains { $0.contains("loadModel") && $0.contains("no answer from w2 within 3.0 s") }, sim.logs.joined(separator: "\n"))
        guard let r1 = hits(sim.search("lease", k: 5)) else { return }
        XCTAssertEqual(r1.hits, SimCluster.bruteForce(corpus, "lease", k: 5), "w1 keeps serving meanwhile")
        // w2 recovers: the retried requests get through and the rebalance completes.
        sim.blackhole.remove(Peer("w2"))
        sim.advance(4)
        XCTAssertEqual(["w1", "w2"].map { w in sim.coordinator.shardMap.shards.filter { $0.ready.contains(Peer(w)) }.count }, [1, 1])
        guard let r2 = hits(sim.search("lease", k: 5)) else { return }
        XCTAssertEqual(r2.hits, SimCluster.bruteForce(corpus, "lease", k: 5))
    }

    func testReRegisteringWorkerReusesItsStore() {
        let corpus = makeCorpus(60)
        let sim = SimCluster(corpus: corpus, shards: 2, replication: 1)
        sim.addWorker("w1")
        let first = sim.workers[Peer("w1")]!.engine as! HashEngine
        XCTAssertGreaterThan(first.embedCalls, 0, "the first session embedded its shards")
        // A reconnect is a new worker process: a fresh WorkerService and engine over the same data directory.
        sim.workers[Peer("w1")] = nil
        sim.addWorker("w1")
        let second = sim.workers[Peer("w1")]!.engine as! HashEngine
        XCTAssertFalse(first === second, "the re-registered worker runs a new engine")
        XCTAssertTrue(sim.coordinator.ready)
        XCTAssertEqual(second.embedCalls, 0, "shards already on disk with the same ids are not re-embedded")
        guard let r = hits(sim.search("apt kernel", k: 5)) else { return }
        XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, "apt kernel", k: 5), "the re-opened stores answer exactly")
    }
}
