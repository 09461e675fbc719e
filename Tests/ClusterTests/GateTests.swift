import XCTest
import Cluster
import Wire

/// The coordinator's admission of messages, without a network: roles (issue 12 fault 1) and the
/// incarnation filter (fault 5).
final class GateTests: XCTestCase {
    func register(_ id: UInt64 = 1) -> Envelope {
        Envelope(requestID: id, body: .registerRequest(RegisterRequest(workerID: "w1", protocolVersion: ProtocolConstants.protocolVersion)))
    }

    func testRolesWithCurve() {
        var g = CoordinatorGate(incarnation: 7)
        let search = Envelope(requestID: 3, body: .searchRequest(SearchRequest(query: "q", topK: 3)))
        // a client key posing as a worker: refused, PERMISSION_DENIED, with its request id
        guard case .deny(let reply) = g.admit(register(9), role: "client", curve: true) else { return XCTFail("a client key registered as a worker") }
        XCTAssertEqual(reply.requestID, 9)
        XCTAssertEqual(reply.status?.code, .permissionDenied)
        XCTAssertEqual(reply.body, .error(reply.status!))
        // a worker key asking for client work, a heartbeat from a client, a reply from a client
        if case .admit = g.admit(search, role: "worker", curve: true) { XCTFail("a worker key searched") }
        if case .admit = g.admit(Envelope(requestID: 0, body: .heartbeat(Heartbeat(workerID: "x", sequence: 1))), role: "client", curve: true) { XCTFail() }
        let forged = Envelope(requestID: 5, status: .ok, body: .searchShardReply(SearchShardReply(shardID: 0, hits: [])), incarnation: 7)
        if case .admit = g.admit(forged, role: "client", curve: true) { XCTFail("a client answered a shard search") }
        // no role (a connection without a User-Id) is refused when CURVE is on
        if case .admit = g.admit(search, role: nil, curve: true) { XCTFail() }
        // messages nobody sends to the coordinator
        if case .admit = g.admit(Envelope(requestID: 4, body: .loadModelRequest(LoadModelRequest(name: "de", path: "/x"))), role: "worker", curve: true) { XCTFail() }
        XCTAssertEqual(g.denied, 6)
        // the right roles pass
        XCTAssertEqual(g.admit(register(), role: "worker", curve: true), .admit)
        XCTAssertEqual(g.admit(search, role: "client", curve: true), .admit)
        XCTAssertEqual(g.admit(forged, role: "worker", curve: true), .admit)
        XCTAssertEqual(g.denied, 6)
        // without CURVE there are no roles to check (the coordinator binds loopback by default)
        XCTAssertEqual(g.admit(register(), role: nil, curve: false), .admit)
    }

    /// Request ids restart at 1 with each coordinator run: a worker's late reply to the old run
    /// carries the same id as a request of the new one. The incarnation tells them apart.
    func testLateReplyToAnotherCoordinatorRunIsDroppedAndCounted() throws {
        var cfg = CoordinatorConfig()
        cfg.deModel = "/models/de"
        let w = Peer("w1")
        // run 1: the worker registers and is asked to load the model (request 1 or so)
        var run1 = Coordinator(config: cfg, corpus: [])
        let gate1 = CoordinatorGate()
        let load1 = try XCTUnwrap(run1.handle(.message(from: w, register(), now: 0)).compactMap { a -> Envelope? in
            if case .send(_, let e) = a, case .loadModelRequest = e.body { return gate1.stamp(e) }
            return nil
        }.first)
        // the wire carries the incarnation
        XCTAssertEqual(try Wire.decode(try Wire.encode(load1)).incarnation, gate1.incarnation)
        // restart: run 2 sends a request with the same id
        var run2 = Coordinator(config: cfg, corpus: [])
        var gate2 = CoordinatorGate()
        XCTAssertNotEqual(gate1.incarnation, gate2.incarnation)
        let load2 = try XCTUnwrap(run2.handle(.message(from: w, register(), now: 10)).compactMap { a -> Envelope? in
            if case .send(_, let e) = a, case .loadModelRequest = e.body { return gate2.stamp(e) }
            return nil
        }.first)
        XCTAssertEqual(load1.requestID, load2.requestID, "the collision this guards against")
        // the worker's late reply to run 1 (echoing run 1's incarnation) arrives at run 2
        let lateReply = CoordinatorGate.echo(Envelope(requestID: load1.requestID, status: .ok,
                                                      body: .loadModelReply(LoadModelReply(name: "de", dimension: 8, crossEncoder: false))), of: load1)
        XCTAssertEqual(lateReply.incarnation, gate1.incarnation)
        guard case .drop = gate2.admit(try Wire.decode(try Wire.encode(lateReply)), role: nil, curve: false) else { return XCTFail("a reply to another run was admitted") }
        XCTAssertEqual(gate2.staleReplies, 1)
        // a reply without any incarnation (0) is not this run's either
        guard case .drop = gate2.admit(Envelope(requestID: load2.requestID, status: .ok, body: .dropShardReply(DropShardReply(shardID: 0))), role: nil, curve: false) else { return XCTFail() }
        XCTAssertEqual(gate2.staleReplies, 2)
        // the reply to run 2's own request passes, and registrations and heartbeats need no incarnation
        let reply2 = CoordinatorGate.echo(Envelope(requestID: load2.requestID, status: .ok,
                                                   body: .loadModelReply(LoadModelReply(name: "de", dimension: 8, crossEncoder: false))), of: load2)
        XCTAssertEqual(gate2.admit(reply2, role: nil, curve: false), .admit)
        XCTAssertEqual(gate2.admit(register(), role: nil, curve: false), .admit)
        XCTAssertEqual(gate2.admit(Envelope(requestID: 0, body: .heartbeat(Heartbeat(workerID: "w1", sequence: 3))), role: nil, curve: false), .admit)
        XCTAssertEqual(gate2.staleReplies, 2)
        // the log is capped: a flood of stale replies logs at powers of two only
        var logged = 0
        for _ in 0..<1000 { if case .drop(let l) = gate2.admit(lateReply, role: nil, curve: false), l != nil { logged += 1 } }
        XCTAssertLessThan(logged, 15)
    }

    func testLoopbackEndpoints() {
        for e in ["tcp://127.0.0.1:5555", "tcp://localhost:1", "tcp://[::1]:9", "ipc:///tmp/x", "inproc://a"] {
            XCTAssertTrue(CoordinatorServer.isLoopback(e), e)
            XCTAssertNil(CoordinatorServer.bindWarning(e, keys: false), e)
        }
        for e in ["tcp://*:5555", "tcp://0.0.0.0:1", "tcp://10.0.0.5:1", "tcp://eth0:1", "tcp://[::]:1"] {
            XCTAssertFalse(CoordinatorServer.isLoopback(e), e)
            XCTAssertNotNil(CoordinatorServer.bindWarning(e, keys: false), e)
            XCTAssertNil(CoordinatorServer.bindWarning(e, keys: true), "with keys: no warning")
        }
    }
}

extension GateTests {
    func testRepliesCarryTheRequestsIncarnation() {
        let request = Envelope(requestID: 42, body: .dropShardRequest(DropShardRequest(shardID: 3)), incarnation: 99)
        let r = request.reply(.dropShardReply(DropShardReply(shardID: 3)))
        XCTAssertEqual([r.requestID, r.incarnation], [42, 99])
        XCTAssertEqual(r.status, .ok)
        XCTAssertEqual(CoordinatorGate.echo(Envelope(requestID: 42, body: .error(RPCStatus(.internalError))), of: request).incarnation, 99)
        XCTAssertTrue(PeerRole.isWorkerReply(r.body))
        XCTAssertFalse(PeerRole.isWorkerReply(.heartbeat(Heartbeat(workerID: "w", sequence: 1))))
    }
}
