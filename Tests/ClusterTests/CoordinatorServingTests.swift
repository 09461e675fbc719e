import Foundation
import XCTest
import Cluster
import Formats
import Model
import Tokenizer
import Wire

/// The coordinator's serving calls (EmbedTexts, RerankTexts) and limits as a state machine:
/// no sockets, simulated time, in-memory workers (SimCluster).
final class CoordinatorServingTests: XCTestCase {
    func sim(ce: Bool = true, limits: (inout ServingLimits) -> Void = { _ in }) -> SimCluster {
        let s = SimCluster(corpus: makeCorpus(40), shards: 2, replication: 1, ce: ce)
        limits(&s.coordinator.serving.limits)
        s.addWorker("w1")
        s.advance(1)
        return s
    }

    /// Sends `body` from the client (optionally with a deadline) and returns the reply, if any came.
    func call(_ s: SimCluster, _ body: Body, deadline: Double? = nil, wait: Double = 0) -> Envelope? {
        let id = s.nextClientID; s.nextClientID += 1
        let dl = deadline.map { Int64($0 * 1000) } ?? 0
        s.run([.message(from: s.client, Envelope(requestID: id, deadlineUnixMs: dl, body: body), now: s.now)])
        if wait > 0 { s.advance(wait) }
        guard let i = s.clientInbox.firstIndex(where: { $0.requestID == id }) else { return nil }
        return s.clientInbox.remove(at: i)
    }

    func tinyTokenizer() throws -> BertTokenizer {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ModelTests/Fixtures/tiny-de-legacy")
        return try BertTokenizer(directory: dir)
    }

    func testEmbedTextsReturnsTheWorkersVectorsAndCountsTokens() throws {
        let s = sim()
        let tok = try tinyTokenizer()
        s.coordinator.serving.deTokenizer = tok
        let texts = ["network daemon", "fonts and graphics for the desktop"]
        let r = try XCTUnwrap(call(s, .embedTextsRequest(EmbedTextsRequest(texts: texts))))
        guard case .embedTextsReply(let m) = r.body else { return XCTFail("\(r)") }
        XCTAssertEqual(m.vectors.data, texts.flatMap(HashEngine.vector))
        XCTAssertEqual(m.vectors.rows, 2)
        XCTAssertEqual(m.promptTokens, texts.map { tok.encode($0).ids.count }.reduce(0, +))
    }

    func testOverLongInputIsRefusedUnlessTruncated() throws {
        let s = sim()
        let tok = try tinyTokenizer()
        s.coordinator.serving.deTokenizer = tok
        let long = Array(repeating: "network", count: tok.maxLength * 2).joined(separator: " ")
        let refused = try XCTUnwrap(call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["short", long]))))
        XCTAssertEqual(refused.status?.code, .outOfRange)
        XCTAssertTrue(refused.status!.message.contains("text 1"), refused.status!.message)
        let cut = try XCTUnwrap(call(s, .embedTextsRequest(EmbedTextsRequest(texts: [long], truncate: true))))
        guard case .embedTextsReply(let m) = cut.body else { return XCTFail("\(cut)") }
        XCTAssertEqual(m.promptTokens, tok.maxLength)
        // --auto-truncate: the same without asking.
        s.coordinator.serving.limits.autoTruncate = true
        guard case .embedTextsReply? = call(s, .embedTextsRequest(EmbedTextsRequest(texts: [long])))?.body else { return XCTFail("auto-truncate") }
    }

    func testRerankTextsScoresEveryPairInOrder() throws {
        let s = sim()
        let texts = ["audio player", "kernel modules", "fonts"]
        let r = try XCTUnwrap(call(s, .rerankTextsRequest(RerankTextsRequest(query: "audio", texts: texts))))
        guard case .rerankTextsReply(let m) = r.body else { return XCTFail("\(r)") }
        XCTAssertEqual(m.scores, texts.map { HashEngine.score("audio", $0) })
    }

    func testBadRequestsGetClearStatuses() throws {
        let s = sim(ce: false) { $0.maxClientBatch = 3 }
        XCTAssertEqual(call(s, .embedTextsRequest(EmbedTextsRequest(texts: [])))?.status?.code, .invalidArgument)
        XCTAssertEqual(call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["a", ""])))?.status?.code, .invalidArgument)
        // A NUL cannot travel to a worker: refused at once, not answered at the deadline.
        XCTAssertEqual(call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["a\u{0}b"])))?.status?.code, .invalidArgument)
        XCTAssertEqual(call(s, .searchRequest(SearchRequest(query: "\u{0}", topK: 5)))?.status?.code, .invalidArgument)
        XCTAssertEqual(call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["a", "b", "c", "d"])))?.status?.code, .resourceExhausted)
        XCTAssertEqual(call(s, .rerankTextsRequest(RerankTextsRequest(query: "q", texts: ["a"])))?.status?.code, .failedPrecondition)
        XCTAssertEqual(call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["a"])), deadline: s.now - 1)?.status?.code, .deadlineExceeded)
        XCTAssertTrue(s.coordinator.clientRequestsInFlight == 0)
    }

    func testPastMaxConcurrentRequestsClientsAreRefusedAtOnceAndTheDeadlineStillHolds() throws {
        let s = sim { $0.maxConcurrentRequests = 2 }
        s.blackhole.insert(Peer("w1"))   // heartbeats, never answers: requests stay in flight
        XCTAssertNil(call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["a"])), deadline: s.now + 1))
        XCTAssertNil(call(s, .searchRequest(SearchRequest(query: "b", topK: 3, rerank: false, rerankTop: 0)), deadline: s.now + 1))
        XCTAssertEqual(s.coordinator.clientRequestsInFlight, 2)
        // The third, of any kind, is refused with no wait.
        XCTAssertEqual(call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["c"])))?.status?.code, .resourceExhausted)
        XCTAssertEqual(call(s, .searchRequest(SearchRequest(query: "d", topK: 3, rerank: false, rerankTop: 0)))?.status?.code, .resourceExhausted)
        // The two in flight end at their deadline (DEADLINE_EXCEEDED), and room is made.
        s.advance(1.5)
        XCTAssertEqual(s.clientInbox.filter { $0.status?.code == .deadlineExceeded }.count, 2, "\(s.clientInbox)")
        XCTAssertEqual(s.coordinator.clientRequestsInFlight, 0)
        s.blackhole = []
        guard case .embedTextsReply? = call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["e"])))?.body else { return XCTFail("not admitted again") }
    }

    func testAClientCallOnADeadWorkerIsRetriedOnAnother() throws {
        let s = sim()
        s.blackhole.insert(Peer("w1"))   // w1, the only worker, takes the call and never answers
        XCTAssertNil(call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["x"])), deadline: s.now + 8))
        s.addWorker("w2")
        s.down.insert(Peer("w1"))        // then dies: missed heartbeats
        s.advance(4)
        XCTAssertFalse(s.coordinator.liveWorkers.contains(Peer("w1")))
        let r = try XCTUnwrap(s.clientInbox.last, "the call was not answered after w1 died")
        guard case .embedTextsReply(let m) = r.body else { return XCTFail("\(r)") }
        XCTAssertEqual(m.vectors.data, HashEngine.vector("x"))
    }

    func testClientCallsAndQueryEmbeddingsAvoidAWorkerBusyWithAJobChunk() throws {
        let s = sim()
        s.addWorker("w2")
        s.advance(2)
        // One job chunk, leased to w1, which never answers it (and so answers nothing else either).
        s.blackhole.insert(Peer("w1"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strata-busy-\(UUID().uuidString).txt")
        try Data((0..<10).map { "text \($0)\n" }.joined().utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let spec = JobJournal.Spec(jobID: "j", corpusPath: file.path, model: "/models/de", outDir: "/out", chunkSize: 10, docCount: 10, chunkCount: 1)
        s.coordinator.addJob(JobRun(spec: spec, corpus: try TextRecordIndex(path: file.path), scheduler: JobScheduler(chunkCount: 1, alreadyDone: [], leaseSeconds: 60),
                                    started: s.now, doneAtStart: 0))
        s.advance(0.25)
        XCTAssertEqual(s.coordinator.jobs["j"]?.scheduler.leased(to: Peer("w1")), [0])
        // Every call goes to w2 (round-robin would send every other one to w1, where it would hang).
        for i in 0..<6 {
            guard case .embedTextsReply? = call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["q\(i)"])), deadline: s.now + 1, wait: 0.25)?.body else {
                return XCTFail("embed call \(i) was not answered: sent to the busy worker?")
            }
        }
    }

    func testDrainRefusesNewRequestsAndFinishesThoseInFlight() throws {
        let s = sim()
        s.blackhole.insert(Peer("w1"))
        XCTAssertNil(call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["kept"])), deadline: s.now + 5))
        s.coordinator.beginDrain()
        XCTAssertEqual(call(s, .embedTextsRequest(EmbedTextsRequest(texts: ["new"])))?.status?.code, .unavailable)
        XCTAssertEqual(call(s, .searchRequest(SearchRequest(query: "new", topK: 1, rerank: false, rerankTop: 0)))?.status?.code, .unavailable)
        XCTAssertEqual(s.coordinator.clientRequestsInFlight, 1)
        // What is left at the end of the grace period is answered UNAVAILABLE, not dropped.
        let left = s.coordinator.abandonClientRequests(RPCStatus(.unavailable, "shut down"))
        XCTAssertEqual(left.count, 1)
        guard case .send(let to, let env)? = left.first else { return XCTFail("\(left)") }
        XCTAssertEqual(to, s.client)
        XCTAssertEqual(env.status?.code, .unavailable)
        XCTAssertEqual(s.coordinator.clientRequestsInFlight, 0)
    }
}
