import Foundation
import XCTest
import Cluster
import Serving
import Wire

/// Every error status of the front door, 429 under overload, 504 at the deadline, and the
/// drain (in-process; FrontDoorProcessTests drains a real process on SIGTERM).
final class FrontDoorErrorTests: XCTestCase {
    var cluster: ServingCluster!

    override func tearDown() { cluster?.shutdown() }

    func assertError(_ r: Web.Reply, _ status: Int, _ type: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.text, file: file, line: line)
        XCTAssertEqual(r.object["error_type"] as? String, type, r.text, file: file, line: line)
        XCTAssertFalse((r.object["error"] as? String ?? "").isEmpty, r.text, file: file, line: line)
    }

    func testBadRequestsGetTheirStatuses() throws {
        cluster = try ServingCluster(limits: { $0.maxClientBatch = 4 }, options: { $0.maxBodyBytes = 4096 })
        try cluster.waitReady()
        let base = cluster.base
        assertError(try Web.request("POST", base + "/embed", body: Data("{not json".utf8)), 400, "invalid_request")
        assertError(try Web.request("POST", base + "/embed", body: Data("[1,2]".utf8)), 400, "invalid_request")
        assertError(try Web.post(base + "/v1/embeddings", ["input": 5]), 400, "invalid_request")
        assertError(try Web.post(base + "/v1/embeddings", ["input": [[1, 2, 3]]]), 400, "invalid_request")
        assertError(try Web.post(base + "/v1/embeddings", ["input": "a", "encoding_format": "int8"]), 400, "invalid_request")
        assertError(try Web.post(base + "/embed", ["inputs": "a", "normalize": "yes"]), 400, "invalid_request")
        assertError(try Web.post(base + "/embed", ["inputs": [String]()]), 400, "invalid_request")
        assertError(try Web.post(base + "/rerank", ["query": "q"]), 400, "invalid_request")
        assertError(try Web.post(base + "/search", ["query": "q", "top_k": 0]), 400, "invalid_request")
        assertError(try Web.post(base + "/search", ["query": "q", "top_k": 2.5]), 400, "invalid_request")
        assertError(try Web.get(base + "/v2/nothing"), 404, "not_found")
        assertError(try Web.get(base + "/embed"), 405, "method_not_allowed")
        assertError(try Web.request("POST", base + "/health", body: Data("{}".utf8)), 405, "method_not_allowed")
        // 413: a body over --max-body-bytes, and a batch over --max-client-batch.
        let big = ["inputs": [String(repeating: "a", count: 5000)]]
        assertError(try Web.post(base + "/embed", big), 413, "payload_too_large")
        assertError(try Web.post(base + "/embed", ["inputs": ["a", "b", "c", "d", "e"]]), 413, "payload_too_large")
        // 422: over the model's max length without truncate; truncate (or --auto-truncate) cuts it.
        let long = Array(repeating: "network", count: 200).joined(separator: " ")
        assertError(try Web.post(base + "/embed", ["inputs": long]), 422, "input_too_long")
        assertError(try Web.post(base + "/v1/embeddings", ["input": long]), 422, "input_too_long")
        assertError(try Web.post(base + "/rerank", ["query": "q", "texts": [long]]), 422, "input_too_long")
        XCTAssertEqual(try Web.post(base + "/embed", ["inputs": long, "truncate": true]).status, 200)
        XCTAssertEqual(try Web.post(base + "/rerank", ["query": "q", "texts": [long], "truncate": true]).status, 200)
        // The server still serves after all that.
        XCTAssertEqual(try Web.post(base + "/embed", ["inputs": "fine"]).status, 200)
    }

    func testAutoTruncateAcceptsLongInputs() throws {
        cluster = try ServingCluster(limits: { $0.autoTruncate = true })
        try cluster.waitReady()
        let long = Array(repeating: "network", count: 200).joined(separator: " ")
        XCTAssertEqual(try Web.post(cluster.base + "/embed", ["inputs": long]).status, 200)
    }

    /// Starts a POST on another thread; the returned group finishes with its reply in `box`.
    final class Pending: @unchecked Sendable { var reply: Web.Reply?; let done = DispatchGroup() }
    func background(_ url: String, _ body: [String: Any]) -> Pending {
        let p = Pending()
        p.done.enter()
        let data = try! JSONSerialization.data(withJSONObject: body)
        DispatchQueue.global().async { p.reply = try? Web.request("POST", url, body: data); p.done.leave() }
        return p
    }

    func waitBlocked(_ n: Int) {
        XCTAssertTrue(waitFor(5) { self.cluster.engine.blocked >= n }, "the worker never started the held request")
    }

    func waitFor(_ seconds: Double, _ c: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end { if c() { return true }; usleep(10_000) }
        return c()
    }

    func testOverloadIsRefusedAtOnceWith429AndResourceExhausted() throws {
        cluster = try ServingCluster(limits: { $0.maxConcurrentRequests = 1 })
        try cluster.waitReady()
        cluster.engine.hold()
        let first = background(cluster.base + "/embed", ["inputs": "held"])
        waitBlocked(1)
        let t0 = Date()
        let refused = try Web.post(cluster.base + "/v1/embeddings", ["input": "second"])
        XCTAssertLessThan(Date().timeIntervalSince(t0), 2, "429 must come at once, not after a wait")
        assertError(refused, 429, "overloaded")
        XCTAssertEqual(refused.headers["retry-after"], "1")
        assertError(try Web.post(cluster.base + "/search", ["query": "x"]), 429, "overloaded")
        // A ZeroMQ client is refused the same way.
        let client = try ClusterClient(endpoint: cluster.server.endpoint)
        XCTAssertThrowsError(try client.call(.embedTextsRequest(EmbedTextsRequest(texts: ["z"])), timeout: 5)) { e in
            XCTAssertEqual((e as? RPCStatus)?.code, .resourceExhausted, "\(e)")
        }
        cluster.engine.release()
        XCTAssertEqual(first.done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(first.reply?.status, 200, first.reply?.text ?? "no reply")
        XCTAssertEqual(try Web.post(cluster.base + "/embed", ["inputs": "after"]).status, 200)
    }

    func testARequestPastItsDeadlineGets504() throws {
        cluster = try ServingCluster(options: { $0.deadline = 0.5 })
        try cluster.waitReady()
        cluster.engine.hold()
        let t0 = Date()
        let r = try Web.post(cluster.base + "/embed", ["inputs": "slow"])
        assertError(r, 504, "deadline_exceeded")
        XCTAssertLessThan(Date().timeIntervalSince(t0), 3)
        cluster.engine.release()
    }

    func testDrainFinishesWhatIsInFlightAndRefusesNewWork() throws {
        cluster = try ServingCluster()
        try cluster.waitReady()
        cluster.engine.hold()
        let inFlight = background(cluster.base + "/rerank", ["query": "audio", "texts": ["audio", "font"]])
        waitBlocked(1)
        cluster.stop.set()   // what SIGTERM does in `strata coordinator`
        XCTAssertTrue(waitFor(5) { (try? Web.get(self.cluster.base + "/ready").status) == 503 }, "/ready did not turn 503")
        assertError(try Web.post(cluster.base + "/embed", ["inputs": "new"]), 503, "unavailable")
        XCTAssertEqual(try Web.get(cluster.base + "/health").status, 200)
        cluster.engine.release()
        XCTAssertEqual(inFlight.done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(inFlight.reply?.status, 200, inFlight.reply?.text ?? "no reply")
        XCTAssertEqual(cluster.loopDone.wait(timeout: .now() + 10), .success, "the drain did not end")
    }
}

/// The body limit enforced while the body is received (a chunked body has no Content-Length to
/// refuse it by), over a raw TCP connection.
final class BodyLimitTests: XCTestCase {
    func rawExchange(port: Int, _ request: [UInt8]) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        XCTAssertEqual(rc, 0)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }   // the server may close once it has answered
            sent += n
        }
        var reply = [UInt8](repeating: 0, count: 65536), got = 0
        while got < reply.count {
            let n = reply[got...].withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            got += n
            if String(decoding: reply[..<got], as: UTF8.self).contains("\"error_type\"") || String(decoding: reply[..<got], as: UTF8.self).hasSuffix("]") { break }
        }
        return String(decoding: reply[..<got], as: UTF8.self)
    }

    func testAChunkedBodyOverTheLimitIs413AndAChunkedBodyUnderItIsServed() throws {
        let cluster = try ServingCluster(options: { $0.maxBodyBytes = 2048 })
        defer { cluster.shutdown() }
        try cluster.waitReady()
        func chunked(_ body: String) -> [UInt8] {
            var r = "POST /embed HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            var rest = Substring(body)
            while !rest.isEmpty {
                let piece = rest.prefix(500)
                rest = rest.dropFirst(piece.count)
                r += String(piece.utf8.count, radix: 16) + "\r\n" + piece + "\r\n"
            }
            return Array((r + "0\r\n\r\n").utf8)
        }
        let big = try rawExchange(port: cluster.door.port, chunked("{\"inputs\": \"" + String(repeating: "a ", count: 3000) + "\"}"))
        XCTAssertTrue(big.hasPrefix("HTTP/1.1 413"), big)
        XCTAssertTrue(big.contains("payload_too_large"), big)
        let small = try rawExchange(port: cluster.door.port, chunked("{\"inputs\": \"" + String(repeating: "a ", count: 300) + "\", \"truncate\": true}"))
        XCTAssertTrue(small.hasPrefix("HTTP/1.1 200"), small)
    }
}
