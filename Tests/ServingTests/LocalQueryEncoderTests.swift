import Foundation
import XCTest
import Cluster
import Serving
import Wire

/// A real engine (the tiny committed DE) whose every call can be held: a worker stuck in a long
/// forward pass (a job batch), as far as anything waiting on it can tell.
final class HeldModelEngine: InferenceEngine, @unchecked Sendable {
    let inner = ModelEngine()
    private let cond = NSCondition()
    private var held = false
    private(set) var calls = 0

    func hold() { cond.lock(); held = true; cond.unlock() }
    func release() { cond.lock(); held = false; cond.broadcast(); cond.unlock() }
    private func gate() { cond.lock(); calls += 1; while held { cond.wait() }; cond.unlock() }
    var callCount: Int { cond.lock(); defer { cond.unlock() }; return calls }

    func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool) { try inner.loadModel(name: name, path: path) }
    func loadModel(name: String, path: String, embedLayer: Int?) throws -> (dimension: Int, crossEncoder: Bool) {
        try inner.loadModel(name: name, path: path, embedLayer: embedLayer)
    }
    func embed(model: String, texts: [String]) throws -> Vectors { gate(); return try inner.embed(model: model, texts: texts) }
    func score(model: String, query: String, passages: [String]) throws -> [Float] { gate(); return try inner.score(model: model, query: query, passages: passages) }
    func tokenCount(model: String, text: String) -> Int { inner.tokenCount(model: model, text: text) }
    func pairTokenCount(model: String, query: String, passage: String) -> Int { inner.pairTokenCount(model: model, query: query, passage: passage) }
    func embedServing(model: String, texts: [String], maxBatchTokens: Int) throws -> Vectors {
        gate(); return try inner.embedServing(model: model, texts: texts, maxBatchTokens: maxBatchTokens)
    }
    func scoreServing(model: String, pairs: [(query: String, passage: String)], maxBatchTokens: Int) throws -> [Float] {
        gate(); return try inner.scoreServing(model: model, pairs: pairs, maxBatchTokens: maxBatchTokens)
    }
    func embedPlan(model: String, texts: [String]) -> [[Int]] { inner.embedPlan(model: model, texts: texts) }
}

/// `CoordinatorServer.startLocalQueryEncoder`: the coordinator embeds queries itself, so a search
/// is answered while every worker's engine is busy (held), with the same embedding a worker gives.
final class LocalQueryEncoderTests: XCTestCase {
    var stop = Flag()
    let loopDone = DispatchGroup(), workerDone = DispatchGroup()
    var root: URL!
    var engine: HeldModelEngine!

    override func tearDown() {
        engine?.release()
        stop.set()
        _ = loopDone.wait(timeout: .now() + 15)
        _ = workerDone.wait(timeout: .now() + 5)
        if let root { try? FileManager.default.removeItem(at: root) }
    }

    /// An in-process coordinator with the HTTP front door and one worker on `HeldModelEngine`; the
    /// local encoder (when `local`) caches `queryCache` texts (0: none, so every query is embedded).
    func start(local: Bool, queryCache: Int = 0) throws -> (CoordinatorServer, String) {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-local-encoder-\(UUID().uuidString)")
        var cfg = CoordinatorConfig()
        cfg.shardCount = 2
        cfg.deModel = try Fixtures.model("tiny-de-legacy")
        let server = try CoordinatorServer(bind: "tcp://127.0.0.1:0", dataDir: root.appendingPathComponent("coord"), config: cfg, corpus: Fixtures.corpus(30))
        server.configureServing(ServingLimits())
        if local { try server.startLocalQueryEncoder(queryCache: queryCache) }
        var options = HTTPFrontDoor.Options()
        options.deadline = 4
        let door = try HTTPFrontDoor(host: "127.0.0.1", port: 0, gateway: try server.openGateway(), options: options)
        let stop = stop
        loopDone.enter()
        Thread.detachNewThread { [loopDone] in
            try? server.run(until: { stop.value })
            door.beginDrain(); try? server.drain(grace: 1); door.stop()
            loopDone.leave()
        }
        engine = HeldModelEngine()
        let w = try WorkerServer(coordinator: server.endpoint, service: WorkerService(engine: engine, dataDir: root.appendingPathComponent("w")), workerID: "w")
        workerDone.enter()
        Thread.detachNewThread { [workerDone] in try? w.run(until: { stop.value }); workerDone.leave() }
        let base = "http://127.0.0.1:\(door.port)"
        let end = Date().addingTimeInterval(30)
        while Date() < end, (try? Web.get(base + "/ready").status) != 200 { usleep(50_000) }
        XCTAssertEqual(try Web.get(base + "/ready").status, 200, "not ready")
        return (server, base)
    }

    func testSearchIsAnsweredWhileEveryWorkerComputesAndEmbeddingsMatchAWorkers() throws {
        let (_, base) = try start(local: true)
        let idle = try Web.post(base + "/search", ["query": "audio kernel", "top_k": 5])
        XCTAssertEqual(idle.status, 200, idle.text)
        // The coordinator's embedding equals the worker engine's (the same model; one text alone).
        let e = try Web.post(base + "/v1/embeddings", ["input": "audio kernel"])
        let data = try XCTUnwrap((e.object["data"] as? [[String: Any]])?.first?["embedding"] as? [Double])
        let worker = try engine.inner.embed(model: ProtocolConstants.deModelName, texts: ["audio kernel"])
        XCTAssertEqual(data.count, worker.dimension)
        for (a, b) in zip(data, worker.data) { XCTAssertEqual(Float(a), b, accuracy: 1e-5) }
        // Every worker forward pass now blocks; shard searches need none, and the query is embedded here.
        engine.hold()
        let calls = engine.callCount
        let start = Date()
        let busy = try Web.post(base + "/search", ["query": "audio kernel", "top_k": 5])
        XCTAssertEqual(busy.status, 200, busy.text)
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertEqual((busy.object["hits"] as? [[String: Any]])?.compactMap { $0["id"] as? String },
                       (idle.object["hits"] as? [[String: Any]])?.compactMap { $0["id"] as? String })
        XCTAssertEqual(engine.callCount, calls, "a worker's engine was asked during the search")
    }

    /// A query text embedded before is answered from the encoder's cache (`--query-cache`): the
    /// same hits, and /metrics counts one hit per repeated text, one miss per new one.
    func testRepeatedQueryTextsComeFromTheCacheAndAreCounted() throws {
        let (_, base) = try start(local: true, queryCache: 100)
        let first = try Web.post(base + "/search", ["query": "pdf viewer", "top_k": 5])
        let again = try Web.post(base + "/search", ["query": "pdf viewer", "top_k": 5])
        XCTAssertEqual(again.status, 200, again.text)
        XCTAssertEqual((again.object["hits"] as? [[String: Any]])?.compactMap { $0["id"] as? String },
                       (first.object["hits"] as? [[String: Any]])?.compactMap { $0["id"] as? String })
        XCTAssertEqual(try Web.post(base + "/v1/embeddings", ["input": ["pdf viewer", "audio kernel"]]).status, 200)
        let metrics = try Web.get(base + "/metrics").text
        XCTAssertTrue(metrics.contains("strata_query_cache_texts_total{result=\"hit\"} 2\n"), metrics)
        XCTAssertTrue(metrics.contains("strata_query_cache_texts_total{result=\"miss\"} 2\n"), metrics)
    }

    /// Without it (`--query-embedding workers`), the same search waits for the held worker: the
    /// deadline passes (504). This is what the local encoder removes.
    func testWithoutItASearchWaitsForTheWorkersEngine() throws {
        let (_, base) = try start(local: false)
        XCTAssertEqual(try Web.post(base + "/search", ["query": "audio kernel", "top_k": 5]).status, 200)
        engine.hold()
        let r = try Web.post(base + "/search", ["query": "audio kernel", "top_k": 5])
        XCTAssertEqual(r.status, 504, r.text)
    }
}
