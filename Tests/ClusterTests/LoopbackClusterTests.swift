import XCTest
import Cluster
import Wire
import ZMQ

/// The real shells (CoordinatorServer, WorkerServer, ClusterClient) over tcp://127.0.0.1 with
/// ephemeral ports, in one process, with the deterministic HashEngine.
final class LoopbackClusterTests: XCTestCase {
    final class Flag: @unchecked Sendable {
        private let lock = NSLock(); private var v = false
        var value: Bool { lock.lock(); defer { lock.unlock() }; return v }
        func set() { lock.lock(); v = true; lock.unlock() }
    }

    struct Running {
        let endpoint: String
        let stop: Flag
        let done: DispatchGroup
        let root: URL
        let workerStops: [Flag]
    }

    func start(corpus: [Document], workers: Int, keys: CurveKeys? = nil, workerKeys: CurveKeys? = nil,
               indexingGate: (@Sendable (String) -> Void)? = nil, root given: URL? = nil,
               configure: (CoordinatorServer) -> Void = { _ in }) throws -> Running {
        let root = given ?? FileManager.default.temporaryDirectory.appendingPathComponent("strata-loop-\(UUID().uuidString)")
        var cfg = CoordinatorConfig()
        cfg.shardCount = 3; cfg.deModel = "/models/de"; cfg.ceModel = "/models/ce"; cfg.searchDeadline = 5
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        cfg.jobsRoot = try JobsRoot(root.path)
        let server = try CoordinatorServer(bind: "tcp://127.0.0.1:0", dataDir: root.appendingPathComponent("coord"), config: cfg, corpus: corpus, keys: keys,
                                         indexingGate: indexingGate)
        configure(server)
        let stop = Flag(), group = DispatchGroup()
        let endpoint = server.endpoint
        Thread.detachNewThread { group.enter(); try? server.run(until: { stop.value }); group.leave() }
        var stops: [Flag] = []
        for i in 0..<workers {
            let w = try WorkerServer(coordinator: endpoint, service: WorkerService(engine: HashEngine(), dataDir: root.appendingPathComponent("w\(i)")),
                                     keys: workerKeys ?? keys, workerID: "w\(i)")
            let f = Flag(); stops.append(f)
            Thread.detachNewThread { group.enter(); try? w.run(until: { f.value || stop.value }); group.leave() }
        }
        return Running(endpoint: endpoint, stop: stop, done: group, root: root, workerStops: stops)
    }

    func stopAll(_ r: Running, keepFiles: Bool = false) {
        r.stop.set()
        _ = r.done.wait(timeout: .now() + 5)
        if !keepFiles { try? FileManager.default.removeItem(at: r.root) }
    }

    func waitReady(_ c: ClusterClient, seconds: Double = 10) throws -> ClusterStatusReply {
        let end = Date().addingTimeInterval(seconds)
        var last: ClusterStatusReply? = nil
        while Date() < end {
            if case .clusterStatusReply(let s) = try c.call(.clusterStatusRequest, timeout: 2) { last = s; if s.ready { return s } }
            usleep(50_000)
        }
        struct NeverReady: Error, CustomStringConvertible { let description: String }
        XCTFail("cluster never became ready within \(seconds) s: \(String(describing: last))")
        throw NeverReady(description: "cluster never became ready within \(seconds) s")
    }

    func testSearchOverRealSocketsEqualsBruteForce() throws {
        let corpus = makeCorpus(200)
        let r = try start(corpus: corpus, workers: 2)
        defer { stopAll(r) }
        let c = try ClusterClient(endpoint: r.endpoint)
        let st = try waitReady(c)
        XCTAssertEqual(st.shardsTotal, 3)
        for q in ["kernel zmq", "épée 日本 lease"] {
            guard case .searchReply(let rep) = try c.call(.searchRequest(SearchRequest(query: q, topK: 10))) else { return XCTFail("no reply") }
            XCTAssertFalse(rep.partial)
            XCTAssertEqual(rep.hits, SimCluster.bruteForce(corpus, q, k: 10))
        }
        guard case .searchReply(let rr) = try c.call(.searchRequest(SearchRequest(query: "shard", topK: 5, rerank: true, rerankTop: 30))) else { return XCTFail("no reply") }
        XCTAssertFalse(rr.partial)
        // The CE re-scores the first-stage top 30 and keeps the best 5 under the cluster's total order.
        let candidates = SimCluster.bruteForce(corpus, "shard", k: 30)
        let expect = candidates.map { Hit(docIndex: $0.docIndex, docID: $0.docID, score: HashEngine.score("shard", corpus[$0.docIndex].text)) }
            .sorted(by: Hit.ranksBefore).prefix(5)
        XCTAssertEqual(rr.hits, Array(expect), "re-ranked order and top-5 selection")
        // malformed frame over the real socket: INVALID_ARGUMENT, and the coordinator keeps serving
        let ctx = try Context(); let raw = try ctx.socket(.dealer)
        try raw.setReceiveTimeout(milliseconds: 3000)
        try raw.connect(r.endpoint)
        try raw.send([0xFF, 0xFF, 0xFF])
        let answer = try XCTUnwrap(try raw.receiveMultipart())
        let env = try Wire.decode(answer.last!)
        XCTAssertEqual(env.status?.code, .invalidArgument)
        // a frame over the 64 MiB limit: ZeroMQ drops it and the sender's connection; nothing is answered
        try raw.setReceiveTimeout(milliseconds: 1000)
        try raw.send([UInt8](repeating: 0x0A, count: ProtocolConstants.maxFrameBytes + 1024))
        XCTAssertNil(try raw.receiveMultipart(), "an oversized frame gets no answer")
        raw.close()
        guard case .searchReply = try c.call(.searchRequest(SearchRequest(query: "apt", topK: 3))) else { return XCTFail("no reply after bad frames") }
    }

    func testKilledWorkerIsDetectedAndQueriesStayAnswered() throws {
        let corpus = makeCorpus(90)
        let r = try start(corpus: corpus, workers: 2)
        defer { stopAll(r) }
        let c = try ClusterClient(endpoint: r.endpoint)
        _ = try waitReady(c)
        r.workerStops[1].set()  // worker 1 stops answering and heartbeating
        let t0 = Date()
        var sawComplete = false
        while Date().timeIntervalSince(t0) < 8 {
            guard case .searchReply(let rep) = try c.call(.searchRequest(SearchRequest(query: "vector merge", topK: 8)), timeout: 10) else { return XCTFail() }
            if !rep.partial {
                XCTAssertEqual(rep.hits, SimCluster.bruteForce(corpus, "vector merge", k: 8))
                if Date().timeIntervalSince(t0) > 3.5 { sawComplete = true; break }
            }
            usleep(200_000)
        }
        XCTAssertTrue(sawComplete, "after the heartbeat timeout the survivor holds every shard")
        if case .clusterStatusReply(let s) = try c.call(.clusterStatusRequest) { XCTAssertEqual(s.workersLive, 1) }
    }

    func testCurveClusterRefusesUnknownClient() throws {
        try XCTSkipUnless(zmqHas("curve"), "libzmq without CURVE")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-keys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CurveKeys.generate(into: dir)
        let keys = try CurveKeys.load(from: dir)
        let corpus = makeCorpus(30)
        let r = try start(corpus: corpus, workers: 1, keys: keys)
        defer { stopAll(r) }
        let good = try ClusterClient(endpoint: r.endpoint, keys: keys)
        _ = try waitReady(good)
        guard case .searchReply(let rep) = try good.call(.searchRequest(SearchRequest(query: "apt", topK: 3))) else { return XCTFail() }
        XCTAssertEqual(rep.hits, SimCluster.bruteForce(corpus, "apt", k: 3))
        // a stranger with its own key pair but the right server key
        let other = try Curve.keypair()
        var strangerKeys = keys; strangerKeys.clientPublic = other.publicKey; strangerKeys.clientSecret = other.secretKey
        let stranger = try ClusterClient(endpoint: r.endpoint, keys: strangerKeys)
        XCTAssertThrowsError(try stranger.call(.clusterStatusRequest, timeout: 1.5))
        // a plain-text client
        let plain = try ClusterClient(endpoint: r.endpoint)
        XCTAssertThrowsError(try plain.call(.clusterStatusRequest, timeout: 1.5))
    }
}
