import Foundation
import XCTest
import Cluster
import Wire
import Model

/// The worker's compute order (issue 9 items 2-3, issue 12 fault 6): serving work before job
/// chunks (which run one engine batch at a time), waiting embed / re-rank requests gathered into
/// one forward pass under the token budget, and deadlines checked between slices.
final class WorkerSchedulerTests: XCTestCase {
    /// A deterministic engine that records every call, and can hold its calls on a gate.
    final class RecordingEngine: InferenceEngine, @unchecked Sendable {
        let lock = NSLock()
        var calls: [String] = []
        /// When set, every `embed` call waits for the semaphore (after signalling `entered`).
        var gate: DispatchSemaphore?
        let entered = DispatchSemaphore(value: 0)
        func record(_ s: String) { lock.lock(); calls.append(s); lock.unlock() }
        var recorded: [String] { lock.lock(); defer { lock.unlock() }; return calls }

        func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool) { (8, path.contains("ce")) }
        func embed(model: String, texts: [String]) throws -> Vectors {
            record("embed \(texts.count)")
            if let g = gate { entered.signal(); g.wait() }
            return Vectors(rows: texts.count, dimension: 8, data: texts.flatMap(HashEngine.vector))
        }
        func embedServing(model: String, texts: [String], maxBatchTokens: Int) throws -> Vectors {
            record("serve \(texts.count)")
            return Vectors(rows: texts.count, dimension: 8, data: texts.flatMap(HashEngine.vector))
        }
        func score(model: String, query: String, passages: [String]) throws -> [Float] {
            record("score \(passages.count)")
            return passages.map { HashEngine.score(query, $0) }
        }
    }

    final class Replies: @unchecked Sendable {
        let lock = NSLock(); var list: [Envelope] = []
        func add(_ e: Envelope) { lock.lock(); list.append(e); lock.unlock() }
        var all: [Envelope] { lock.lock(); defer { lock.unlock() }; return list }
    }

    var dir: URL!
    override func setUp() { dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-sched-\(UUID().uuidString)") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    func makeWorker(_ engine: InferenceEngine) -> (WorkerService, WorkerScheduler, Replies) {
        let service = WorkerService(engine: engine, dataDir: dir)
        let replies = Replies()
        let scheduler = WorkerScheduler(service: service, deliver: replies.add)
        for (i, m) in [("de", "/models/de"), ("ce", "/models/ce")].enumerated() {
            XCTAssertEqual(service.handle(Envelope(requestID: UInt64(900 + i), body: .loadModelRequest(LoadModelRequest(name: m.0, path: m.1))), now: 0)?.status?.code, .ok)
        }
        return (service, scheduler, replies)
    }

    func embedRequest(_ id: UInt64, _ texts: [String]) -> Envelope {
        Envelope(requestID: id, body: .embedBatchRequest(EmbedBatchRequest(model: "de", texts: texts)))
    }

    func chunkRequest(_ id: UInt64, count: Int) -> Envelope {
        Envelope(requestID: id, body: .embedChunkRequest(EmbedChunkRequest(jobID: "j", chunkIndex: 0, model: "de",
                                                                           texts: (0..<count).map { "chunk text \($0)" })))
    }

    func testWaitingEmbedRequestsShareOneForwardPassAndEachGetsItsOwnRows() {
        let engine = RecordingEngine()
        let (_, s, replies) = makeWorker(engine)
        let texts = [["apt"], ["kernel module", "zmq"], ["épée 日本"], ["a", "b", "c"]]
        for (i, t) in texts.enumerated() { s.submit(embedRequest(UInt64(i + 1), t)) }
        s.runOnce(now: 0)
        XCTAssertEqual(engine.recorded, ["serve 7"], "four waiting requests, one forward pass")
        XCTAssertEqual(replies.all.map(\.requestID), [1, 2, 3, 4])
        for (i, r) in replies.all.enumerated() {
            guard case .embedBatchReply(let v) = r.body else { return XCTFail("\(r)") }
            XCTAssertEqual(v.vectors.data, texts[i].flatMap(HashEngine.vector), "request \(i + 1) got its own rows")
        }
        XCTAssertEqual(s.gatheredPasses, 1)
    }

    func testGatheringStopsAtTheTokenBudget() {
        let engine = RecordingEngine()
        let (service, s, replies) = makeWorker(engine)
        service.maxBatchTokens = 30
        // each text is 2 + 40/4 = 12 estimated tokens: two requests fit 30, the third does not
        let text = String(repeating: "x", count: 40)
        for i in 1...3 { s.submit(embedRequest(UInt64(i), [text])) }
        s.runOnce(now: 0)
        XCTAssertEqual(engine.recorded, ["serve 2"])
        s.runOnce(now: 0)
        XCTAssertEqual(engine.recorded, ["serve 2", "serve 1"])
        XCTAssertEqual(replies.all.map(\.requestID), [1, 2, 3])
    }

    func testRerankRequestsAreGatheredToo() {
        let engine = RecordingEngine()
        let (_, s, replies) = makeWorker(engine)
        let passages = ["debian kernel", "python library", "zmq socket"]
        s.submit(Envelope(requestID: 1, body: .rerankRequest(RerankRequest(model: "ce", query: "q one", passages: passages.map { Document(id: $0, text: $0) }))))
        s.submit(Envelope(requestID: 2, body: .rerankRequest(RerankRequest(model: "ce", query: "q two", passages: [Document(id: "x", text: "font")]))))
        s.runOnce(now: 0)
        XCTAssertEqual(replies.all.count, 2, "both answered by one pass")
        XCTAssertEqual(engine.recorded, ["score 3", "score 1"], "one scoreServing call (split by query by the test engine's default)")
        guard case .rerankReply(let a) = replies.all[0].body, case .rerankReply(let b) = replies.all[1].body else { return XCTFail() }
        XCTAssertEqual(a.scores, passages.map { HashEngine.score("q one", $0) })
        XCTAssertEqual(b.scores, [HashEngine.score("q two", "font")])
    }

    func testServingRequestGoesBetweenTheBatchesOfAChunk() {
        let engine = RecordingEngine()
        let (_, s, replies) = makeWorker(engine)
        s.submit(chunkRequest(1, count: 100))     // 4 engine batches (32, 32, 32, 4)
        s.runOnce(now: 0)
        XCTAssertEqual(engine.recorded, ["embed 32"])
        s.submit(embedRequest(2, ["query"]))
        s.runOnce(now: 0)
        XCTAssertEqual(replies.all.map(\.requestID), [2], "the query is answered before the chunk's next batch")
        while s.runOnce(now: 0) {}
        XCTAssertEqual(replies.all.map(\.requestID), [2, 1])
        XCTAssertEqual(engine.recorded, ["embed 32", "serve 1", "embed 32", "embed 32", "embed 4"])
        guard case .embedChunkReply(let c) = replies.all[1].body else { return XCTFail() }
        XCTAssertEqual(c.vectors.data, (0..<100).flatMap { HashEngine.vector("chunk text \($0)") }, "rows back in text order")
    }

    /// The compute thread is inside a chunk's engine call when the query arrives: the query is
    /// answered before the chunk (ordering, no timing).
    func testQueryArrivingWhileAChunkRunsIsAnsweredBeforeTheChunk() {
        let engine = RecordingEngine()
        let (_, s, replies) = makeWorker(engine)
        let gate = DispatchSemaphore(value: 0)
        engine.gate = gate
        s.start()
        defer { s.stop() }
        s.submit(chunkRequest(1, count: 200))
        XCTAssertEqual(engine.entered.wait(timeout: .now() + 10), .success, "the chunk started")
        s.submit(embedRequest(2, ["query while the chunk runs"]))
        for _ in 0..<7 { gate.signal() }          // let the chunk's 7 batches through
        XCTAssertTrue(waitFor(10) { replies.all.count == 2 })
        XCTAssertEqual(replies.all.map(\.requestID), [2, 1])
        XCTAssertEqual(engine.recorded.prefix(3), ["embed 32", "serve 1", "embed 32"])
    }

    /// Shard searches need no model: one is answered while the compute thread is still inside a
    /// chunk's engine call (the test holds that call until the answer has come).
    func testShardSearchIsAnsweredWhileAChunkBatchIsInTheEngine() {
        let engine = RecordingEngine()
        let (service, s, replies) = makeWorker(engine)
        let docs = makeCorpus(20)
        XCTAssertEqual(service.handle(Envelope(requestID: 50, body: .assignShardRequest(AssignShardRequest(shardID: 0, model: "de", firstDocIndex: 0, documents: docs))), now: 0)?.status?.code, .ok)
        let gate = DispatchSemaphore(value: 0)
        engine.gate = gate
        s.start()
        defer { gate.signal(); gate.signal(); gate.signal(); s.stop() }
        s.submit(chunkRequest(1, count: 40))
        XCTAssertEqual(engine.entered.wait(timeout: .now() + 10), .success, "the chunk is in the engine")
        s.submit(Envelope(requestID: 2, body: .searchShardRequest(SearchShardRequest(shardID: 0, k: 5, query: HashEngine.vector("kernel")))))
        XCTAssertTrue(waitFor(10) { !replies.all.isEmpty }, "answered while the engine call is held")
        guard case .searchShardReply(let r)? = replies.all.first?.body else { return XCTFail("\(replies.all)") }
        XCTAssertEqual(r.hits, SimCluster.bruteForce(docs, "kernel", k: 5))
        XCTAssertFalse(s.idle, "the chunk is still running")
    }

    /// A re-rank larger than the budget advances slice by slice; once its deadline passed it is
    /// answered DEADLINE_EXCEEDED and the engine does no more of it. Serving work behind it goes
    /// between its slices.
    func testLongRerankStopsAtItsDeadlineAndLetsOthersThrough() {
        let engine = RecordingEngine()
        let (service, s, replies) = makeWorker(engine)
        service.maxBatchTokens = 50
        let passages = (0..<40).map { Document(id: "p\($0)", text: String(repeating: "w", count: 60)) }  // 2 + 60/4 + ... tokens each
        s.submit(Envelope(requestID: 1, deadlineUnixMs: 100_000, body: .rerankRequest(RerankRequest(model: "ce", query: "q", passages: passages))))
        s.submit(embedRequest(2, ["other"]))
        s.runOnce(now: 50)
        XCTAssertEqual(engine.recorded.count, 1, "one slice of the re-rank")
        XCTAssertTrue(replies.all.isEmpty)
        s.runOnce(now: 60)
        XCTAssertEqual(replies.all.map(\.requestID), [2], "the request behind the long re-rank went between its slices")
        s.runOnce(now: 100.5)
        XCTAssertEqual(replies.all.map(\.requestID), [2, 1])
        XCTAssertEqual(replies.all[1].status?.code, .deadlineExceeded)
        XCTAssertEqual(engine.recorded.count, 2, "no slice computed after the deadline")
        XCTAssertFalse(s.runOnce(now: 101), "nothing left")
    }

    func testRequestThatWaitedPastItsDeadlineIsNotComputed() {
        let engine = RecordingEngine()
        let (_, s, replies) = makeWorker(engine)
        s.submit(Envelope(requestID: 7, deadlineUnixMs: 1_000, body: .embedBatchRequest(EmbedBatchRequest(model: "de", texts: ["late"]))))
        s.runOnce(now: 2)
        XCTAssertEqual(replies.all.first?.status?.code, .deadlineExceeded)
        XCTAssertTrue(engine.recorded.isEmpty)
    }

    // MARK: with the engine's real arithmetic (tiny committed checkpoints)

    func realWorker(_ model: String, name: String) throws -> (WorkerService, WorkerScheduler, Replies, ModelEngine) {
        let engine = ModelEngine()
        let service = WorkerService(engine: engine, dataDir: dir)
        XCTAssertEqual(service.handle(Envelope(requestID: 99, body: .loadModelRequest(LoadModelRequest(name: name, path: model))), now: 0)?.status?.code, .ok)
        let replies = Replies()
        return (service, WorkerScheduler(service: service, deliver: replies.add), replies, engine)
    }

    static let texts = (0..<37).map { i in (0...(i * 5 % 17)).map { "word\($0 * i % 11) debian" }.joined(separator: " ") }

    /// Texts gathered into one forward pass equal the same texts embedded alone within 1e-5
    /// (OpenBLAS rounds a row differently by matrix height, so not bit-identical).
    func testGatheredEmbeddingsEqualEachTextAloneWithinTolerance() throws {
        let (_, s, replies, engine) = try realWorker(try Strata.fixtureModel("tiny-de-legacy"), name: "de")
        for (i, t) in Self.texts.enumerated() { s.submit(embedRequest(UInt64(i + 1), [t])) }
        while s.runOnce(now: 0) {}
        XCTAssertEqual(s.gatheredPasses, 1, "one pass for all \(Self.texts.count) requests")
        XCTAssertEqual(replies.all.count, Self.texts.count)
        for r in replies.all {
            guard case .embedBatchReply(let v) = r.body else { return XCTFail("\(r)") }
            let alone = try engine.embed(model: "de", texts: [Self.texts[Int(r.requestID) - 1]])
            XCTAssertEqual(v.vectors.data.count, alone.data.count)
            let diff = zip(v.vectors.data, alone.data).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(diff, 1e-5, "request \(r.requestID)")
        }
    }

    func testGatheredRerankPairsEqualEachPairAloneWithinTolerance() throws {
        let (_, s, replies, engine) = try realWorker(try Strata.fixtureModel("tiny-ce"), name: "ce")
        let queries = ["debian kernel", "python library for graphics", "x"]
        for (i, q) in queries.enumerated() {
            s.submit(Envelope(requestID: UInt64(i + 1), body: .rerankRequest(RerankRequest(model: "ce", query: q, passages: Self.texts.prefix(9).map { Document(id: "", text: $0) }))))
        }
        while s.runOnce(now: 0) {}
        XCTAssertEqual(s.gatheredPasses, 1)
        for r in replies.all {
            guard case .rerankReply(let v) = r.body else { return XCTFail("\(r)") }
            let q = queries[Int(r.requestID) - 1]
            for (j, p) in Self.texts.prefix(9).enumerated() {
                let alone = try engine.score(model: "ce", query: q, passages: [p])[0]
                XCTAssertEqual(v.scores[j], alone, accuracy: 1e-5, "pair (\(q), passage \(j))")
            }
        }
    }

    /// A chunk run one engine batch at a time (between serving requests) is byte-identical to the
    /// chunk embedded in one call, as `strata embed` does.
    func testChunkRunBatchByBatchIsByteIdenticalToOneCall() throws {
        let (_, s, replies, engine) = try realWorker(try Strata.fixtureModel("tiny-de-legacy"), name: "de")
        let texts = (0..<90).map { Self.texts[$0 % Self.texts.count] + ($0 % 4 == 0 ? " extra words here" : "") }
        XCTAssertGreaterThan(engine.embedPlan(model: "de", texts: texts).count, 1, "several batches")
        s.submit(Envelope(requestID: 1, body: .embedChunkRequest(EmbedChunkRequest(jobID: "j", chunkIndex: 0, model: "de", texts: texts))))
        while s.runOnce(now: 0) {}
        guard case .embedChunkReply(let c)? = replies.all.first?.body else { return XCTFail("\(replies.all)") }
        XCTAssertEqual(c.vectors, try engine.embed(model: "de", texts: texts))
    }

    func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end { if condition() { return true }; usleep(10_000) }
        return condition()
    }
}

/// One CE for both stages (issue 9 item 8): "de" loaded from a CE with a retrieval layer embeds
/// with that layer's normalised self-pair embeddings, "ce" scores, and the two share one encoder.
final class OneCrossEncoderTests: XCTestCase {
    func testRetrievalLayerEmbeddingsAndScoresShareOneModel() throws {
        let ce = try Strata.fixtureModel("tiny-ce")
        let engine = ModelEngine()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-onece-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let w = WorkerService(engine: engine, dataDir: dir)
        XCTAssertEqual(w.handle(Envelope(requestID: 1, body: .loadModelRequest(LoadModelRequest(name: "de", path: ce, embedLayer: 1))), now: 0)?.status?.code, .ok)
        XCTAssertEqual(w.handle(Envelope(requestID: 2, body: .loadModelRequest(LoadModelRequest(name: "ce", path: ce))), now: 0)?.status?.code, .ok)
        XCTAssertEqual(engine.encodersInMemory, 1, "one model in memory")
        let texts = ["debian kernel module", "a python library for fonts"]
        guard case .embedBatchReply(let r)? = w.handle(Envelope(requestID: 3, body: .embedBatchRequest(EmbedBatchRequest(model: "de", texts: texts))), now: 0)?.body
        else { return XCTFail() }
        let encoder = try TextEncoder.load(ce)
        let expect = try encoder.embed(texts, layer: 1, normalize: true)
        for (a, b) in zip(r.vectors.data, expect.data) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertNotEqual(r.vectors.data, try encoder.embed(texts).data, "not the model's own (last layer) embedding")
        guard case .rerankReply(let s)? = w.handle(Envelope(requestID: 4, body: .rerankRequest(RerankRequest(model: "ce", query: "kernel", passages: texts.map { Document(id: "", text: $0) }))), now: 0)?.body
        else { return XCTFail() }
        let scores = try encoder.score(texts.map { ("kernel", $0) })
        for (a, b) in zip(s.scores, scores) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // a layer the model does not have is refused, naming it
        let bad = w.handle(Envelope(requestID: 5, body: .loadModelRequest(LoadModelRequest(name: "x", path: ce, embedLayer: 99))), now: 0)
        XCTAssertEqual(bad?.status?.code, .invalidArgument)
        XCTAssertTrue(bad?.status?.message.contains("layer 99") ?? false)
    }
}
