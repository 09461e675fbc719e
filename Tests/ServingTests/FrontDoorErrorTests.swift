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
