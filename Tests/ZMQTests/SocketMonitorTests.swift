import XCTest
import ZMQ

/// The socket monitor wrapper and ZMQ_SRCFD: a dropped connection is reported with the same
/// file descriptor that the peer's messages carried.
final class SocketMonitorTests: XCTestCase {
    func testDisconnectNamesTheConnectionOfThePeersMessages() throws {
        let ctx = try Context()
        let router = try ctx.socket(.router)
        try router.bind("tcp://127.0.0.1:0")
        let monitor = try SocketMonitor(watching: router, context: ctx, events: [.accepted, .disconnected])
        let endpoint = try router.lastEndpoint
        var fds: [String: Int32] = [:]
        var dealers: [String: Socket] = [:]
        for name in ["a", "b"] {
            let d = try ctx.socket(.dealer)
            try d.setRoutingID(Array(name.utf8))
            try d.connect(endpoint)
            try d.send(Array("hi".utf8))
            dealers[name] = d
        }
        var poller = Poller([router])
        let end = Date().addingTimeInterval(5)
        while fds.count < 2 && Date() < end {
            guard try poller.poll(timeoutMilliseconds: 100)[0] else { continue }
            while let m = try router.receiveMultipart(dontWait: true, property: nil) {
                let (frames, fd) = (m.frames, m.sourceFD)
                XCTAssertEqual(frames.count, 2)
                fds[String(decoding: frames[0], as: UTF8.self)] = fd
            }
        }
        XCTAssertEqual(fds.count, 2)
        XCTAssertTrue(fds.values.allSatisfy { $0 >= 0 }, "each message carries its connection's fd: \(fds)")
        XCTAssertNotEqual(fds["a"], fds["b"])
        // b goes away (as a killed process's socket does): the monitor reports b's fd, not a's.
        dealers["b"]!.close()
        var dropped: [Int32] = []
        var accepted: [Int32] = []
        var mpoll = Poller([monitor.socket])
        let end2 = Date().addingTimeInterval(5)
        while dropped.isEmpty && Date() < end2 {
            guard try mpoll.poll(timeoutMilliseconds: 100)[0] else { continue }
            while let ev = try monitor.nextEvent(dontWait: true) {
                if ev.kind == .disconnected { dropped.append(ev.fd) }
                if ev.kind == .accepted { accepted.append(ev.fd) }
                XCTAssertTrue(ev.endpoint.hasPrefix("tcp://"), ev.endpoint)
            }
        }
        XCTAssertEqual(dropped, [fds["b"]!])
        XCTAssertEqual(Set(accepted), Set(fds.values), "the accepted connections are the ones the messages named")
        monitor.stop()
        dealers["a"]!.close(); router.close()
    }
}
