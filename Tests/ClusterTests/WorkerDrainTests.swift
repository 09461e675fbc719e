import XCTest
import Cluster
import Wire

/// Worker drain in the pure coordinator (issue 9 item 5): a leaving worker gets no new work, its
/// shards get other replicas while it keeps serving them, and it is answered once they are ready.
final class WorkerDrainTests: XCTestCase {
    func hits(_ e: Envelope?, file: StaticString = #filePath, line: UInt = #line) -> SearchReply? {
        guard case .searchReply(let r)? = e?.body else { XCTFail("no search reply: \(String(describing: e))", file: file, line: line); return nil }
        return r
    }

    func leave(_ sim: SimCluster, _ w: String) {
        sim.run([.message(from: Peer(w), Envelope(requestID: 77, body: .workerLeavingRequest(WorkerLeavingRequest(workerID: w))), now: sim.now)])
    }

    func leavingReply(_ sim: SimCluster, _ w: String) -> WorkerLeavingReply? {
        for (to, e) in sim.sentToWorkers where to == Peer(w) { if case .workerLeavingReply(let r) = e.body { XCTAssertEqual(e.requestID, 77); return r } }
        return nil
    }

    /// Replication 1: the only replica of each of its shards is the leaving worker, which keeps
    /// answering for them until the copy on the other worker is ready, so no query is partial.
    func testLeavingWorkerHandsOverItsShardsAndNoQueryIsPartial() {
        let corpus = makeCorpus(120)
        let sim = SimCluster(corpus: corpus, shards: 4, replication: 1, ce: true)
        sim.addWorker("a"); sim.addWorker("b")
        let aShards = sim.coordinator.shardMap.shards.filter { $0.ready.contains(Peer("a")) }.map(\.id)
        XCTAssertFalse(aShards.isEmpty)
        let before = sim.sentToWorkers.count
        leave(sim, "a")
        XCTAssertNil(leavingReply(sim, "a"), "not answered before its shards are served elsewhere")
        // every search in the drain is complete and exact, first stage and re-ranked
        for q in ["kernel vector", "apt zmq merge"] {
            guard let r = hits(sim.search(q, k: 10)) else { return }
            XCTAssertFalse(r.partial)
            XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, q, k: 10))
            guard let rr = hits(sim.search(q, k: 5, rerank: true, rerankTop: 20)) else { return }
            XCTAssertFalse(rr.partial)
        }
        sim.advance(2)
        guard let reply = leavingReply(sim, "a") else { return XCTFail("the drain never finished: \(sim.logs.suffix(5))") }
        XCTAssertTrue(reply.complete, reply.message)
        XCTAssertEqual(reply.shardsMoved, aShards.count)
        XCTAssertEqual(sim.coordinator.liveWorkers, [Peer("b")], "a is forgotten once answered")
        XCTAssertTrue(sim.coordinator.shardMap.shards.allSatisfy { $0.ready == [Peer("b")] && $0.assigned == [Peer("b")] })
        // after the leaving request a got nothing new: no query embedding, re-rank, chunk or shard
        for (to, e) in sim.sentToWorkers[before...] where to == Peer("a") {
            switch e.body {
            case .searchShardRequest, .heartbeat, .workerLeavingReply: break
            case .error(let st) where st.code == .failedPrecondition: break   // "register": the sim heartbeats from a after it left
            default: XCTFail("a leaving worker was sent \(e.body)")
            }
        }
        guard let r = hits(sim.search("kernel vector", k: 10)) else { return }
        XCTAssertFalse(r.partial)
        XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, "kernel vector", k: 10))
    }

    /// Replication 2 over three workers: the shards go to the two others, each keeping 2 replicas.
    func testWithReplicationTwoEveryShardKeepsTwoReplicas() {
        let corpus = makeCorpus(90)
        let sim = SimCluster(corpus: corpus, shards: 3, replication: 2)
        sim.addWorker("a"); sim.addWorker("b"); sim.addWorker("c")
        sim.advance(1)
        leave(sim, "b")
        sim.advance(2)
        XCTAssertEqual(leavingReply(sim, "b")?.complete, true)
        XCTAssertTrue(sim.coordinator.shardMap.shards.allSatisfy { $0.ready == [Peer("a"), Peer("c")] }, "\(sim.coordinator.shardMap.shards)")
        // a worker joining after the drain gets shards again (placement resumed)
        sim.addWorker("d")
        sim.advance(2)
        XCTAssertTrue(sim.coordinator.shardMap.shards.contains { $0.ready.contains(Peer("d")) })
    }

    /// Nowhere to move the shards: after the drain timeout the worker is answered, incomplete,
    /// with the shards named; until then it serves them.
    func testDrainWithNoOtherWorkerTimesOutNamingTheShards() {
        let corpus = makeCorpus(40)
        let sim = SimCluster(corpus: corpus, shards: 2, replication: 1)
        sim.addWorker("a")
        leave(sim, "a")
        sim.advance(Coordinator.drainTimeout - 1, step: 1)
        XCTAssertNil(leavingReply(sim, "a"))
        guard let r = hits(sim.search("apt", k: 3)) else { return }
        XCTAssertFalse(r.partial, "the leaving worker still serves shards it could not hand over")
        sim.advance(2, step: 1)
        guard let reply = leavingReply(sim, "a") else { return XCTFail("no reply after the drain timeout") }
        XCTAssertFalse(reply.complete)
        XCTAssertTrue(reply.message.contains("[0, 1]"), reply.message)
    }

    func testUnknownWorkerLeavingIsAnsweredAtOnce() {
        let sim = SimCluster(corpus: makeCorpus(10), shards: 1, replication: 1)
        sim.addWorker("a")
        sim.workers[Peer("ghost")] = WorkerService(engine: HashEngine(), dataDir: sim.root.appendingPathComponent("ghost"))
        leave(sim, "ghost")
        XCTAssertEqual(leavingReply(sim, "ghost")?.complete, true)
        XCTAssertEqual(sim.coordinator.liveWorkers, [Peer("a")])
    }
}
