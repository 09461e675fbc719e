import XCTest
import Cluster
import Wire

/// The Placement part alone: directives for the shards of a served corpus as workers join, index,
/// fail and die.
final class PlacementTests: XCTestCase {
    let w1 = Peer("w1"), w2 = Peer("w2")

    func testNothingBeforeTheDelayThenEveryShardOnceEvenly() {
        var p = Placement(documentCount: 40, shardCount: 4, replication: 1, placementDelay: 2)
        XCTAssertEqual(p.place(now: 0, indexers: [w1], held: [:]), [], "no worker has registered")
        p.workerJoined(now: 10)
        p.workerJoined(now: 11)
        XCTAssertEqual(p.place(now: 11.9, indexers: [w1, w2], held: [:]), [], "within the placement delay")
        XCTAssertEqual(p.place(now: 12, indexers: [w1, w2], held: [:]),
                       [.assign(shard: 0, worker: w1), .assign(shard: 1, worker: w2), .assign(shard: 2, worker: w1), .assign(shard: 3, worker: w2)])
        XCTAssertEqual(p.place(now: 13, indexers: [w1, w2], held: [:]), [], "assigned once")
    }

    func testAShardHeldOnDiskGoesBackToItsWorker() {
        var p = Placement(documentCount: 40, shardCount: 2, replication: 1, placementDelay: 0)
        p.workerJoined(now: 0)
        XCTAssertEqual(p.place(now: 0, indexers: [w1, w2], held: [w2: [0]]), [.assign(shard: 0, worker: w2), .assign(shard: 1, worker: w1)])
    }

    func testIndexedReadyOnceAndFailuresBackOffUpToTheCap() {
        var p = Placement(documentCount: 10, shardCount: 1, replication: 1, placementDelay: 0)
        p.workerJoined(now: 0)
        XCTAssertEqual(p.place(now: 0, indexers: [w1], held: [:]), [.assign(shard: 0, worker: w1)])
        // Fails: unassigned, not again before the back-off.
        let line = p.assignmentFailed(shard: 0, worker: w1, message: "no space", now: 1, countsAsFailure: true)
        XCTAssertEqual(line, "shard 0: assignment failed 1 time(s); next try in 1 s")
        XCTAssertEqual(p.place(now: 1.5, indexers: [w1], held: [:]), [])
        XCTAssertEqual(p.place(now: 2, indexers: [w1], held: [:]), [.assign(shard: 0, worker: w1)])
        var now = 2.0
        for _ in 2...ProtocolConstants.assignShardMaxAttempts {
            _ = p.assignmentFailed(shard: 0, worker: w1, message: "no space", now: now, countsAsFailure: true)
            now += ProtocolConstants.retryMax + 1
            _ = p.place(now: now, indexers: [w1], held: [:])
        }
        XCTAssertEqual(p.place(now: now + 1000, indexers: [w1], held: [:]), [], "past the cap: waits for a new worker")
        p.workerJoined(now: now + 1000)
        XCTAssertEqual(p.place(now: now + 1000, indexers: [w1, w2], held: [:]), [.assign(shard: 0, worker: w1)], "another round")
        let r = p.indexed(shard: 0, worker: w1, count: 10, now: now + 1004)
        XCTAssertTrue(r.ready)
        XCTAssertEqual(r.took, 4)
        XCTAssertNil(p.indexed(shard: 0, worker: w1, count: 10, now: now + 1005).took, "a repeated answer is not timed again")
        XCTAssertFalse(p.indexed(shard: 0, worker: w2, count: 10, now: now + 1005).ready, "w2 was never assigned it")
        XCTAssertEqual(p.shardMap.readyReplicas(0), [w1])
    }

    func testADeadWorkersShardsMoveAndSurplusIsDroppedOnlyWhenTheNewCopyIsReady() {
        var p = Placement(documentCount: 20, shardCount: 2, replication: 1, placementDelay: 0)
        p.workerJoined(now: 0)
        XCTAssertEqual(p.place(now: 0, indexers: [w1], held: [:]), [.assign(shard: 0, worker: w1), .assign(shard: 1, worker: w1)])
        _ = p.indexed(shard: 0, worker: w1, count: 10, now: 1)
        _ = p.indexed(shard: 1, worker: w1, count: 10, now: 2)
        // w2 joins: one shard is copied to it; w1's copy is dropped once w2's is ready.
        p.workerJoined(now: 3)
        let moves = p.place(now: 3, indexers: [w1, w2], held: [:])
        XCTAssertEqual(moves.count, 1)
        guard case .assign(let s, w2)? = moves.first else { return XCTFail("\(moves)") }
        XCTAssertEqual(p.dropSurplus(), [], "the old copy serves until the new one is ready")
        _ = p.indexed(shard: s, worker: w2, count: 10, now: 4)
        XCTAssertEqual(p.dropSurplus(), [.drop(shard: s, worker: w1)])
        // w2 dies: its shard goes back to w1.
        p.workerDied(w2)
        XCTAssertEqual(p.place(now: 5, indexers: [w1], held: [:]), [.assign(shard: s, worker: w1)])
    }
}
