import XCTest
import Cluster
import Wire

/// The Membership part alone: heartbeats when quiet, death after `liveness` silent intervals,
/// suspicion when a connection drops, cleared by any message, death after the grace otherwise.
final class MembershipTests: XCTestCase {
    let w1 = Peer("w1"), w2 = Peer("w2")

    /// Registers w1 and w2 at t = 0 through the coordinator (the Membership part records them).
    func twoWorkers(interval: Double = 1, liveness: Int = 3, grace: Double = 2) -> Coordinator {
        var cfg = CoordinatorConfig()
        cfg.heartbeatInterval = interval; cfg.heartbeatLiveness = liveness; cfg.suspectGrace = grace
        var c = Coordinator(config: cfg, corpus: [])
        for w in [w1, w2] {
            _ = c.handle(.message(from: w, Envelope(requestID: 1, body: .registerRequest(RegisterRequest(workerID: w.description,
                                                  protocolVersion: ProtocolConstants.protocolVersion, shardsHeld: []))), now: 0))
        }
        return c
    }

    func testQuietWorkersGetHeartbeatsAndSilentOnesDie() {
        var m = twoWorkers().membership
        XCTAssertEqual(m.live, [w1, w2])
        XCTAssertEqual(m.tick(now: 0.5), [], "something was sent at registration")
        XCTAssertEqual(m.tick(now: 1.0), [.heartbeat(w1), .heartbeat(w2)])
        XCTAssertEqual(m.tick(now: 1.5), [], "one heartbeat per interval")
        XCTAssertFalse(m.heard(w1, now: 2.5))
        XCTAssertEqual(m.tick(now: 3.0), [.heartbeat(w1), .heartbeat(w2)])
        // w2 was last heard at 0: past 3 intervals it is dead; w1 (heard at 2.5) is not.
        XCTAssertEqual(m.tick(now: 3.01), [.dead(w2, reason: "worker w2 missed 3 heartbeats: dead")])
        XCTAssertEqual(m.tick(now: 5.4), [.heartbeat(w1), .dead(w2, reason: "worker w2 missed 3 heartbeats: dead")], "listed until removed")
    }

    func testDroppedConnectionMakesSuspectThenDeadUnlessItSpeaks() {
        var m = twoWorkers().membership
        XCTAssertTrue(m.connectionLost(w1, now: 0.2))
        XCTAssertFalse(m.connectionLost(w1, now: 0.3), "already suspect")
        XCTAssertFalse(m.connectionLost(Peer("client"), now: 0.3), "not a worker")
        XCTAssertEqual(m.suspect, [w1])
        XCTAssertFalse(m.usable(w1)); XCTAssertTrue(m.usable(w2))
        _ = m.heard(w2, now: 2.2)
        XCTAssertEqual(m.tick(now: 2.21), [.dead(w1, reason: "worker w1: connection dropped and silent for 2.0 s: dead"), .heartbeat(w2)])
        // The same from the start, but w1 speaks within the grace: cleared.
        var n = twoWorkers().membership
        XCTAssertTrue(n.connectionLost(w1, now: 0.2))
        XCTAssertTrue(n.heard(w1, now: 1.9), "speaking clears the suspicion")
        XCTAssertTrue(n.usable(w1))
        XCTAssertEqual(n.tick(now: 2.21), [.heartbeat(w1), .heartbeat(w2)])
    }

    /// Through the coordinator: a death directive removes the worker and its shards.
    func testCoordinatorActsOnDeath() {
        var c = twoWorkers()
        _ = c.handle(.message(from: w1, Envelope(requestID: 0, body: .heartbeat(Heartbeat(workerID: "w1", sequence: 0))), now: 2.5))
        let out = c.handle(.tick(now: 3.2))
        XCTAssertTrue(out.contains(.log("worker w2 missed 3 heartbeats: dead")), "\(out)")
        XCTAssertEqual(c.liveWorkers, [w1])
        XCTAssertTrue(out.contains { if case .send(w1, let e) = $0, case .heartbeat = e.body { return true }; return false })
        XCTAssertFalse(out.contains { if case .send(w2, _) = $0 { return true }; return false }, "nothing is sent to the dead")
    }

    /// Shards and queries must share one embedding: a worker that embeds in another precision than
    /// the cluster's is refused at registration, with a message naming both; an empty precision (a
    /// worker from before the field) reads as fp32.
    func testWorkerInAnotherPrecisionIsRefused() {
        var cfg = CoordinatorConfig()
        cfg.precision = "int8"
        var c = Coordinator(config: cfg, corpus: [])
        func register(_ w: Peer, _ precision: String) -> [CoordinatorAction] {
            c.handle(.message(from: w, Envelope(requestID: 1, body: .registerRequest(RegisterRequest(workerID: w.description,
                     protocolVersion: ProtocolConstants.protocolVersion, precision: precision))), now: 0))
        }
        func refusal(_ actions: [CoordinatorAction]) -> String? {
            for case .send(_, let env) in actions { if case .error(let s) = env.body, env.requestID == 1 { return s.message } }
            return nil
        }
        let fp32 = register(w1, "fp32")
        XCTAssertEqual(refusal(fp32)?.contains("embeds in fp32 but the cluster's documents and queries are int8"), true, "\(fp32)")
        XCTAssertNotNil(refusal(register(w2, "")), "empty reads as fp32")
        XCTAssertEqual(c.membership.live, [], "neither joined")
        XCTAssertNil(refusal(register(w1, "int8")))
        XCTAssertEqual(c.membership.live, [w1])
    }
}
