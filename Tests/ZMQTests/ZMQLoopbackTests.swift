import XCTest
import ZMQ

/// Real sockets on loopback (tcp://127.0.0.1, ephemeral ports only).
final class ZMQLoopbackTests: XCTestCase {
    func makePair(_ ctx: Context) throws -> (router: Socket, dealer: Socket, endpoint: String) {
        let router = try ctx.socket(.router)
        try router.bind("tcp://127.0.0.1:0")
        let endpoint = try router.lastEndpoint
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
        XCTAssertFalse(endpoint.hasSuffix(":0"), "an ephemeral port was chosen: \(endpoint)")
        try router.setReceiveTimeout(milliseconds: 2000)
        let dealer = try ctx.socket(.dealer)
        try dealer.setRoutingID(Array("w1".utf8))
        try dealer.setReceiveTimeout(milliseconds: 2000)
        try dealer.connect(endpoint)
        return (router, dealer, endpoint)
    }

    func testMultipartRoundTripThroughRouter() throws {
        let ctx = try Context()
        let (router, dealer, _) = try makePair(ctx)
        let payload: [UInt8] = (0..<1000).map { UInt8($0 % 251) }
        try dealer.send(multipart: [Array("hello".utf8), payload, []])
        let got = try XCTUnwrap(try router.receiveMultipart())
        XCTAssertEqual(got.count, 4)  // routing id + 3 frames
        XCTAssertEqual(got[0], Array("w1".utf8))
        XCTAssertEqual(got[1], Array("hello".utf8))
        XCTAssertEqual(got[2], payload)
        XCTAssertEqual(got[3], [])
        try router.send(multipart: [got[0], Array("reply".utf8)])
        let back = try XCTUnwrap(try dealer.receiveMultipart())
        XCTAssertEqual(back, [Array("reply".utf8)])
        router.close(); dealer.close()
    }

    func testReceiveTimeoutReturnsNil() throws {
        let ctx = try Context()
        let (router, dealer, _) = try makePair(ctx)
        try router.setReceiveTimeout(milliseconds: 50)
        XCTAssertNil(try router.receiveMultipart())
        XCTAssertNil(try dealer.receiveMultipart(dontWait: true))
    }

    func testOversizedMessageIsDroppedAndPeerCanReconnect() throws {
        let ctx = try Context()
        let router = try ctx.socket(.router)
        try router.setMaxMessageSize(1024)
        try router.bind("tcp://127.0.0.1:0")
        let endpoint = try router.lastEndpoint
        try router.setReceiveTimeout(milliseconds: 400)
        let dealer = try ctx.socket(.dealer)
        try dealer.setReconnectInterval(milliseconds: 20, max: 100)
        try dealer.connect(endpoint)
        try dealer.send([UInt8](repeating: 7, count: 4096))
        XCTAssertNil(try router.receiveMultipart(), "a frame over ZMQ_MAXMSGSIZE must never be delivered")
        // The connection was dropped; the dealer reconnects and a small frame gets through.
        try router.setReceiveTimeout(milliseconds: 100)
        var delivered: [[UInt8]]? = nil
        for _ in 0..<30 where delivered == nil {
            try dealer.send(Array("small".utf8), dontWait: true)
            delivered = try router.receiveMultipart()
        }
        XCTAssertEqual(delivered?.last, Array("small".utf8))
    }

    func testRouterHandoverAcceptsAReconnectingPeerWithTheSameID() throws {
        let ctx = try Context()
        let (router, first, endpoint) = try makePair(ctx)
        try router.setRouterHandover(true)
        try first.send(Array("one".utf8))
        XCTAssertEqual(try router.receiveMultipart(), [Array("w1".utf8), Array("one".utf8)])
        // A second connection with the same routing id while the first is still open (a worker
        // that restarted before its old TCP connection was noticed dead).
        let second = try ctx.socket(.dealer)
        try second.setRoutingID(Array("w1".utf8))
        try second.setReceiveTimeout(milliseconds: 2000)
        try second.connect(endpoint)
        try second.send(Array("two".utf8))
        XCTAssertEqual(try router.receiveMultipart(), [Array("w1".utf8), Array("two".utf8)], "the new connection is accepted")
        try router.send(multipart: [Array("w1".utf8), Array("reply".utf8)])
        XCTAssertEqual(try second.receiveMultipart(), [Array("reply".utf8)], "replies go to the new connection")
        router.close(); first.close(); second.close()
    }

    func testPollerReportsReadableSocket() throws {
        let ctx = try Context()
        let (router, dealer, _) = try makePair(ctx)
        var poller = Poller([router, dealer])
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 20), [false, false])
        try dealer.send(Array("x".utf8))
        var ready = [false, false]
        for _ in 0..<50 where !ready[0] { ready = try poller.poll(timeoutMilliseconds: 100) }
        XCTAssertEqual(ready, [true, false])
    }

    func testBadEndpointIsATypedError() throws {
        let ctx = try Context()
        let s = try ctx.socket(.router)
        XCTAssertThrowsError(try s.bind("nonsense://x")) { e in
            let z = e as? ZMQError
            XCTAssertNotNil(z)
            XCTAssertTrue(z?.description.contains("bind nonsense://x") ?? false, "\(e)")
            XCTAssertFalse(z?.message.isEmpty ?? true)
        }
        s.close()
        XCTAssertThrowsError(try s.send([1])) { e in XCTAssertEqual((e as? ZMQError)?.code, ENOTSOCK) }
    }
}
