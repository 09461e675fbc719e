import Foundation
import XCTest
import HTTP
import Cluster
import Serving
import Wire

/// The front door against hostile clients: stalled connections (slowloris) do not lock out
/// others, unknown fields are refused by name, /rerank honours top_n, and top_k has one range.
final class FrontDoorHardeningTests: XCTestCase {
    /// A TCP connection from `source` (any 127.0.0.0/8 address: all are loopback) to the server,
    /// or -1 when the connect failed.
    static func connect(from source: String, port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        func sin(_ host: String, _ port: Int) -> sockaddr_in {
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = in_port_t(UInt16(port).bigEndian)
            _ = inet_pton(AF_INET, host, &a.sin_addr)
            return a
        }
        var local = sin(source, 0), remote = sin("127.0.0.1", port)
        let ok = withUnsafePointer(to: &local) { l in
            withUnsafePointer(to: &remote) { r in
                l.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } == 0
                    && r.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } == 0
            }
        }
        if !ok { close(fd); return -1 }
        return fd
    }

    /// Sends the start of a request and never the rest (a slowloris connection).
    static func stall(_ fd: Int32) {
        let head = "POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        _ = head.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }

    func echoServer(_ limits: HTTPServer.ConnectionLimits) throws -> HTTPServer {
        try HTTPServer(host: "127.0.0.1", port: 0, maxBodyBytes: 1024, limits: limits) { _, _ in HTTPResponse(status: 200, text: #"{"ok":true}"#) }
    }

    /// Before the limits, libmicrohttpd's default of 1,020 connections let ~1,020 stalled sockets
    /// lock everyone out. With the default limits, 1,100 stalled sockets from one address get at
    /// most `maxConnectionsPerIP` of them, and a client from another address is served at once.
    func testThousandStalledConnectionsFromOneAddressDoNotLockOutOthers() throws {
        let server = try echoServer(HTTPServer.ConnectionLimits())
        defer { server.stop() }
        var stalled: [Int32] = []
        defer { stalled.forEach { close($0) } }
        for _ in 0..<1_100 {
            let fd = Self.connect(from: "127.0.0.2", port: server.port)
            if fd >= 0 { Self.stall(fd); stalled.append(fd) }
        }
        XCTAssertGreaterThan(stalled.count, 1_020, "the attack did not open its connections (the kernel's backlog accepts them)")
        let start = Date()
        let r = try Web.get("http://127.0.0.1:\(server.port)/")
        XCTAssertEqual(r.status, 200)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5, "the normal client waited behind the stalled connections")
    }

    /// A connection silent for the idle timeout is closed, so stalled sockets from the client's own
    /// address free their slots: a client over its address's limit is served once they time out.
    func testStalledConnectionsAreClosedAfterTheIdleTimeout() throws {
        var limits = HTTPServer.ConnectionLimits()
        limits.maxConnectionsPerIP = 4
        limits.idleTimeout = 1
        let server = try echoServer(limits)
        defer { server.stop() }
        let fds = (0..<4).map { _ in Self.connect(from: "127.0.0.3", port: server.port) }
        defer { fds.forEach { if $0 >= 0 { close($0) } } }
        fds.forEach(Self.stall)
        // The stalled connections are closed by the server within a few idle timeouts: a read sees EOF.
        let end = Date().addingTimeInterval(8)
        var closed = 0
        for fd in fds where fd >= 0 {
            var tv = timeval(tv_sec: 8, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var buf = [UInt8](repeating: 0, count: 4096)
            while Date() < end {
                let n = recv(fd, &buf, buf.count, 0)
                if n == 0 { closed += 1; break }
                if n < 0 { break }
            }
        }
        XCTAssertEqual(closed, 4, "stalled connections were not closed after the 1 s idle timeout")
        XCTAssertEqual(try Web.get("http://127.0.0.1:\(server.port)/").status, 200)
    }

    func testBadConnectionLimitsAreRefused() {
        var limits = HTTPServer.ConnectionLimits()
        limits.maxConnectionsPerIP = 0
        XCTAssertThrowsError(try echoServer(limits)) { XCTAssertTrue("\($0)".contains("at least 1"), "\($0)") }
    }

    var cluster: ServingCluster!
    override func tearDown() { cluster?.shutdown() }

    func testUnknownFieldsAreRefusedByName() throws {
        cluster = try ServingCluster()
        try cluster.waitReady()
        for (route, body) in [("/search", ["query": "q", "topk": 5] as [String: Any]), ("/embed", ["inputs": "a", "pooling": "cls"]),
                              ("/rerank", ["query": "q", "texts": ["a"], "top_k": 1]), ("/v1/embeddings", ["input": "a", "dimension": 8])] {
            let r = try Web.post(cluster.base + route, body)
            XCTAssertEqual(r.status, 400, "\(route): \(r.text)")
            XCTAssertEqual(r.object["error_type"] as? String, "invalid_request")
            let unknown = body.keys.first { !["query", "inputs", "input", "texts"].contains($0) }!
            XCTAssertTrue((r.object["error"] as? String ?? "").contains("unknown field '\(unknown)'"), r.text)
        }
        // What the OpenAI client sends is accepted.
        XCTAssertEqual(try Web.post(cluster.base + "/v1/embeddings", ["input": "a", "model": "m", "encoding_format": "base64", "user": "u"]).status, 200)
    }

    func testRerankHonoursTopN() throws {
        cluster = try ServingCluster()
        try cluster.waitReady()
        let texts = ["network daemon", "font", "audio kernel audio", "editor python", "graphics"]
        let all = try Web.post(cluster.base + "/rerank", ["query": "audio kernel", "texts": texts, "raw_scores": true])
        let top2 = try Web.post(cluster.base + "/rerank", ["query": "audio kernel", "texts": texts, "raw_scores": true, "top_n": 2])
        XCTAssertEqual(all.status, 200, all.text); XCTAssertEqual(top2.status, 200, top2.text)
        let a = try XCTUnwrap(all.json as? [[String: Any]]), t = try XCTUnwrap(top2.json as? [[String: Any]])
        XCTAssertEqual(a.count, 5)
        XCTAssertEqual(t.count, 2)
        XCTAssertEqual(t.map { $0["index"] as? Int }, a.prefix(2).map { $0["index"] as? Int })
        // top_n over the count gives all; below 1 is refused.
        XCTAssertEqual((try Web.post(cluster.base + "/rerank", ["query": "q", "texts": texts, "top_n": 50]).json as? [Any])?.count, 5)
        XCTAssertEqual(try Web.post(cluster.base + "/rerank", ["query": "q", "texts": texts, "top_n": 0]).status, 400)
    }

    /// One top_k range with one message, from the coordinator's --max-top-k: the HTTP route and a
    /// ZeroMQ client's search are refused alike.
    func testTopKHasOneRangeFromTheCoordinatorsCap() throws {
        cluster = try ServingCluster(config: { $0.maxTopK = 50 }, options: { $0.maxTopK = 50 })
        try cluster.waitReady()
        XCTAssertEqual(try Web.post(cluster.base + "/search", ["query": "audio", "top_k": 50]).status, 200)
        for k in [0, 51, 10_001, 1 << 40] {
            let r = try Web.post(cluster.base + "/search", ["query": "audio", "top_k": k])
            XCTAssertEqual(r.status, 400, r.text)
            XCTAssertEqual(r.object["error"] as? String, Coordinator.topKOutOfRange(k, maxTopK: 50))
        }
        let client = try ClusterClient(endpoint: cluster.server.endpoint)
        XCTAssertThrowsError(try client.call(.searchRequest(SearchRequest(query: "audio", topK: 51)), timeout: 10)) {
            XCTAssertTrue("\($0)".contains(Coordinator.topKOutOfRange(51, maxTopK: 50)!), "\($0)")
        }
    }
}
