import Foundation
import XCTest
import Cluster
import Wire
import ZMQ

/// Issue 12's adversarial checks against real `strata` processes on loopback: roles of CURVE
/// keys (fault 1) and jobs confined to --jobs-root (fault 2), with the tiny committed models.
final class SecurityTests: XCTestCase {
    var tmp: URL!
    var processes: [Process] = []

    override func setUpWithError() throws {
        // realpath: on some systems the temporary directory is itself behind a link
        let base = URL(fileURLWithPath: FileManager.default.temporaryDirectory.resolvingSymlinksInPath().path)
        tmp = base.appendingPathComponent("strata-sec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for p in processes { Strata.stop(p, signal: SIGKILL) }
        try? FileManager.default.removeItem(at: tmp)
    }

    /// A raw DEALER (routing id `id`) authenticated with the key pair `role`.pub/.key of the key
    /// directory `keys` (read here, so the test runs unchanged against older key code): a peer
    /// that speaks the protocol by hand.
    func rawPeer(_ endpoint: String, _ keys: URL, role: String, id: String) throws -> (Context, Socket) {
        func read(_ name: String) throws -> String {
            try String(contentsOf: keys.appendingPathComponent(name), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let ctx = try Context(), s = try ctx.socket(.dealer)
        try s.setRoutingID(Array(id.utf8))
        try s.makeCurveClient(serverKey: try read("server.pub"), publicKey: try read(role + ".pub"), secretKey: try read(role + ".key"))
        try s.setReceiveTimeout(milliseconds: 200)
        try s.connect(endpoint)
        return (ctx, s)
    }

    /// Everything `s` receives for `seconds`.
    func drain(_ s: Socket, seconds: Double) -> [Envelope] {
        var got: [Envelope] = []
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if let frames = try? s.receiveMultipart(), let last = frames.last, let e = try? Wire.decode(last) { got.append(e) }
        }
        return got
    }

    func startCluster(keys: URL, corpus: URL, workers: Int = 1) throws -> String {
        let de = try Strata.fixtureModel("tiny-de-legacy")
        let log = tmp.appendingPathComponent("up.log")
        processes.append(try Strata.spawn(["cluster", "up", "--workers", String(workers), "--corpus", corpus.path, "--model", de, "--keys", keys.path,
                                           "--data-dir", tmp.appendingPathComponent("cl").path], log: log))
        return try XCTUnwrap(Strata.readyEndpoint(in: log), "the CURVE cluster became ready: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    /// Fault 1: a client key that sends RegisterRequest gets PERMISSION_DENIED and no work: no
    /// LoadModel, no AssignShard (document texts), no query texts to embed, no shard searches,
    /// while real searches run. A worker key gets PERMISSION_DENIED for client requests.
    func testClientKeyPosingAsWorkerGetsNoWork() throws {
        let keys = tmp.appendingPathComponent("keys")
        XCTAssertEqual(try Strata.run(["keys", "gen", "--out", keys.path]).0, 0)
        let corpus = tmp.appendingPathComponent("corpus.jsonl")
        try writeCorpus(corpus, count: 40)
        let endpoint = try startCluster(keys: keys, corpus: corpus)

        let (ctx, impostor) = try rawPeer(endpoint, keys, role: "client", id: "impostor")
        defer { impostor.close(); _ = ctx }
        try impostor.send(try Wire.encode(Envelope(requestID: 77, body: .registerRequest(
            RegisterRequest(workerID: "impostor", protocolVersion: ProtocolConstants.protocolVersion)))))
        // While the impostor listens, clients search (queries a registered impostor would be sent to embed).
        let searcher = Thread {
            for _ in 0..<4 { _ = try? Strata.run(["search", "--coordinator", endpoint, "--keys", keys.path, "--top", "3", "secret query text"], timeout: 30) }
        }
        searcher.start()
        let got = drain(impostor, seconds: 6)
        XCTAssertEqual(got.first?.requestID, 77, "the registration is answered: \(got)")
        XCTAssertEqual(got.first?.status?.code, .permissionDenied, "\(String(describing: got.first))")
        for e in got {
            guard case .error(let s) = e.body, s.code == .permissionDenied else {
                return XCTFail("the impostor was sent \(String(describing: e.body).prefix(60)) (request \(e.requestID))")
            }
        }
        XCTAssertEqual(got.count, 1, "one refusal, nothing else")

        // The real client still works; a worker key asking for client work is refused.
        let (s1, out1, e1) = try Strata.run(["search", "--coordinator", endpoint, "--keys", keys.path, "--top", "3", "package tools"])
        XCTAssertEqual(s1, 0, e1)
        XCTAssertEqual(out1.split(separator: "\n").count, 3)
        let (ctx2, workerAsClient) = try rawPeer(endpoint, keys, role: "worker", id: "wac")
        defer { workerAsClient.close(); _ = ctx2 }
        try workerAsClient.send(try Wire.encode(Envelope(requestID: 5, body: .searchRequest(SearchRequest(query: "package", topK: 3)))))
        let refused = drain(workerAsClient, seconds: 2)
        XCTAssertEqual(refused.map(\.requestID), [5])
        XCTAssertEqual(refused.first?.status?.code, .permissionDenied)
        // a client key cannot forge a shard-search answer either
        try impostor.send(try Wire.encode(Envelope(requestID: 1, status: .ok, body: .searchShardReply(SearchShardReply(shardID: 0, hits: [])))))
        XCTAssertEqual(drain(impostor, seconds: 1).first?.status?.code, .permissionDenied)
    }

    /// The coordinator's address and a client to it, for a coordinator with one worker and
    /// `--jobs-root ROOT` (nil: none).
    func startCoordinator(root: URL?, worker: Bool = true) throws -> (String, ClusterClient) {
        let ep = tmp.appendingPathComponent("ep-\(UUID().uuidString)")
        var args = ["coordinator", "--bind", "tcp://127.0.0.1:0", "--data-dir", tmp.appendingPathComponent("coord-\(UUID().uuidString)").path,
                    "--endpoint-file", ep.path, "--settle", "0"]
        if let root { args += ["--jobs-root", root.path] }
        processes.append(try Strata.spawn(args, log: tmp.appendingPathComponent("coord-\(UUID().uuidString).log")))
        var endpoint = ""
        XCTAssertTrue(Strata.waitFor(20) { endpoint = (try? String(contentsOf: ep, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""; return !endpoint.isEmpty })
        if worker {
            processes.append(try Strata.spawn(["worker", "--coordinator", endpoint, "--data-dir", tmp.appendingPathComponent("w-\(UUID().uuidString)").path],
                                              log: tmp.appendingPathComponent("w.log")))
        }
        return (endpoint, try ClusterClient(endpoint: endpoint))
    }

    /// Every file below `dir` with its contents, to show that nothing changed there.
    func snapshot(_ dir: URL) -> [String: Data] {
        var r: [String: Data] = [:]
        let e = FileManager.default.enumerator(atPath: dir.path)
        while let p = e?.nextObject() as? String {
            let full = dir.appendingPathComponent(p).path
            // contents of regular files only (never open a FIFO: that would wait for a writer)
            let regular = (try? FileManager.default.attributesOfItem(atPath: full)[.type] as? FileAttributeType) == .typeRegular
            r[p] = regular ? FileManager.default.contents(atPath: full) ?? Data() : Data()
        }
        return r
    }

    /// Fault 2: corpus and output must resolve inside --jobs-root; an existing output directory
    /// that is not this job's is refused and left as it was; nothing is written outside.
    func testJobsAreConfinedToTheJobsRoot() throws {
        let de = try Strata.fixtureModel("tiny-de-legacy")
        let root = tmp.appendingPathComponent("root"), outside = tmp.appendingPathComponent("outside")
        for d in [root, outside, root.appendingPathComponent("sub")] { try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true) }
        try writeCorpus(root.appendingPathComponent("corpus.jsonl"), count: 12)
        try writeCorpus(outside.appendingPathComponent("corpus.jsonl"), count: 12)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("link").path, withDestinationPath: outside.path)
        let foreign = root.appendingPathComponent("foreign")
        try FileManager.default.createDirectory(at: foreign, withIntermediateDirectories: true)
        try Data("precious ids\n".utf8).write(to: foreign.appendingPathComponent("ids.txt"))
        XCTAssertEqual(mkfifo(root.appendingPathComponent("fifo").path, 0o600), 0)
        let (_, c) = try startCoordinator(root: root)
        let before = snapshot(tmp)
        // where root/../../x points (beside this test's directory)
        let climbed = tmp.deletingLastPathComponent().appendingPathComponent("x").path
        let climbedBefore = FileManager.default.fileExists(atPath: climbed)

        func refused(_ corpus: String, _ out: String, _ code: StatusCode, _ why: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try c.call(.jobSubmitRequest(JobSubmitRequest(corpusPath: corpus, model: de, outDir: out, chunkSize: 4)), timeout: 10),
                                 why, file: file, line: line) { e in
                XCTAssertEqual((e as? RPCStatus)?.code, code, "\(why): \(e)", file: file, line: line)
            }
        }
        let inCorpus = root.appendingPathComponent("corpus.jsonl").path
        refused("/etc/passwd", root.appendingPathComponent("o1").path, .permissionDenied, "a corpus outside the root")
        refused(inCorpus, "../../x", .permissionDenied, "an output climbing out of the root")
        refused(inCorpus, root.path + "/sub/../../x", .permissionDenied, "an output climbing out through ..")
        refused(root.appendingPathComponent("link/corpus.jsonl").path, root.appendingPathComponent("o2").path, .permissionDenied, "a corpus behind a link to outside")
        refused(inCorpus, root.appendingPathComponent("link/out").path, .permissionDenied, "an output behind a link to outside")
        refused(inCorpus, root.path, .permissionDenied, "the root itself as output")
        refused(inCorpus, foreign.path, .alreadyExists, "an existing directory with another job's (or no job's) files")
        refused(foreign.appendingPathComponent("ids.txt").path, foreign.path, .permissionDenied, "the corpus inside the output")
        refused(root.appendingPathComponent("fifo").path, root.appendingPathComponent("o3").path, .invalidArgument, "a FIFO as the corpus")
        refused(root.appendingPathComponent("sub").path, root.appendingPathComponent("o4").path, .invalidArgument, "a directory as the corpus")
        XCTAssertEqual(snapshot(tmp).filter { !$0.key.hasPrefix("coord-") && !$0.key.hasPrefix("w-") && !$0.key.hasSuffix(".log") },
                       before.filter { !$0.key.hasPrefix("coord-") && !$0.key.hasPrefix("w-") && !$0.key.hasSuffix(".log") },
                       "nothing written or changed anywhere, inside the root or out")
        XCTAssertEqual(try String(contentsOf: foreign.appendingPathComponent("ids.txt"), encoding: .utf8), "precious ids\n")
        if !climbedBefore { XCTAssertFalse(FileManager.default.fileExists(atPath: climbed), "nothing created at \(climbed)") }

        // A job inside the root runs, and its own output directory is accepted again.
        let out = root.appendingPathComponent("good")
        guard case .jobSubmitReply(let sub) = try c.call(.jobSubmitRequest(JobSubmitRequest(corpusPath: inCorpus, model: de, outDir: out.path, chunkSize: 4)), timeout: 10)
        else { return XCTFail() }
        XCTAssertTrue(Strata.waitFor(60) {
            if case .jobStatusReply(let s)? = try? c.call(.jobStatusRequest(JobStatusRequest(jobID: sub.jobID)), timeout: 2) { return s.finished }
            return false
        }, "the job inside the root finished")
        XCTAssertEqual(try readNPY(out.appendingPathComponent("embeddings.npy").path).rows, 12)
        guard case .jobSubmitReply(let again) = try c.call(.jobSubmitRequest(JobSubmitRequest(corpusPath: root.path + "/./corpus.jsonl", model: de,
                                                                                                 outDir: root.path + "/sub/../good", chunkSize: 4)), timeout: 10)
        else { return XCTFail() }
        XCTAssertEqual(again.jobID, sub.jobID, "the same job through other spellings of its paths")
    }

    func testCoordinatorWithoutJobsRootRefusesJobs() throws {
        let (_, c) = try startCoordinator(root: nil, worker: false)
        try writeCorpus(tmp.appendingPathComponent("c.jsonl"), count: 3)
        XCTAssertThrowsError(try c.call(.jobSubmitRequest(JobSubmitRequest(corpusPath: tmp.appendingPathComponent("c.jsonl").path, model: "/m",
                                                                           outDir: tmp.appendingPathComponent("o").path)), timeout: 10)) { e in
            XCTAssertEqual((e as? RPCStatus)?.code, .failedPrecondition, "\(e)")
            XCTAssertTrue("\(e)".contains("--jobs-root"), "\(e)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("o").path))
    }

    /// Fault 8: `job embed --model NAME` resolves the name where the user gives it (here from
    /// $STRATA_MODELS, which the worker does not have) and sends the directory; it used to send
    /// `$PWD/NAME`, which no worker could load.
    func testJobEmbedResolvesTheModelNameWhereItIsGiven() throws {
        let de = try Strata.fixtureModel("tiny-de-legacy")
        let models = tmp.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: de, toPath: models.appendingPathComponent("tiny").path)
        let root = tmp.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try writeCorpus(root.appendingPathComponent("corpus.jsonl"), count: 10)
        let (endpoint, _) = try startCoordinator(root: root)  // its worker was started without STRATA_MODELS
        setenv("STRATA_MODELS", models.path, 1)
        defer { unsetenv("STRATA_MODELS") }
        let (s, out, e) = try Strata.run(["job", "embed", "--coordinator", endpoint, "--corpus", root.appendingPathComponent("corpus.jsonl").path,
                                          "--model", "tiny", "--out", root.appendingPathComponent("out").path, "--timeout", "60"], timeout: 90)
        XCTAssertEqual(s, 0, e)
        XCTAssertTrue(out.contains("embeddings.npy"), out)
        XCTAssertEqual(try readNPY(root.appendingPathComponent("out/embeddings.npy").path).rows, 10)
        // an unknown name fails here, naming it, before anything is submitted
        let (s2, _, e2) = try Strata.run(["job", "embed", "--coordinator", endpoint, "--corpus", root.appendingPathComponent("corpus.jsonl").path,
                                          "--model", "org/no-such-model", "--out", root.appendingPathComponent("out2").path, "--timeout", "5"])
        XCTAssertNotEqual(s2, 0)
        XCTAssertTrue(e2.contains("org/no-such-model"), e2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("out2").path))
    }

    /// Without keys the coordinator warns loudly when bound to an address other machines reach.
    func testCoordinatorWithoutKeysWarnsOnAPublicBind() throws {
        let log = tmp.appendingPathComponent("c.log")
        let p = try Strata.spawn(["coordinator", "--bind", "tcp://0.0.0.0:0", "--data-dir", tmp.appendingPathComponent("c").path], log: log)
        processes.append(p)
        XCTAssertTrue(Strata.waitFor(20) { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("serving on") })
        let text = try String(contentsOf: log, encoding: .utf8)
        XCTAssertTrue(text.contains("WARNING") && text.contains("WITHOUT CURVE keys"), text)
    }

    /// Fault 5 with real processes: a worker's late reply to the previous coordinator run
    /// carries the same request id as the new run's request, and is dropped (and logged), not
    /// taken as the answer.
    func testLateReplyToThePreviousCoordinatorRunIsDropped() throws {
        let de = try Strata.fixtureModel("tiny-de-legacy")
        let ep = tmp.appendingPathComponent("ep")
        func coordinator(_ bind: String, _ log: String) throws -> Process {
            let p = try Strata.spawn(["coordinator", "--bind", bind, "--data-dir", tmp.appendingPathComponent("c").path, "--model", de,
                                      "--endpoint-file", ep.path], log: tmp.appendingPathComponent(log))
            processes.append(p)
            return p
        }
        let a = try coordinator("tcp://127.0.0.1:0", "a.log")
        var endpoint = ""
        XCTAssertTrue(Strata.waitFor(20) { endpoint = (try? String(contentsOf: ep, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""; return !endpoint.isEmpty })
        // a worker speaking the protocol by hand
        let ctx = try Context(), w = try ctx.socket(.dealer)
        defer { w.close(); _ = ctx }
        try w.setRoutingID(Array("raw-worker".utf8))
        try w.setReceiveTimeout(milliseconds: 200)
        try w.connect(endpoint)
        func registerAndGetLoad() throws -> Envelope {
            try w.send(try Wire.encode(Envelope(requestID: 1, body: .registerRequest(RegisterRequest(workerID: "raw-worker", protocolVersion: ProtocolConstants.protocolVersion)))))
            let got = drain(w, seconds: 2)
            return try XCTUnwrap(got.first { if case .loadModelRequest = $0.body { return true }; return false }, "LoadModel after registering: \(got)")
        }
        let loadA = try registerAndGetLoad()
        XCTAssertNotEqual(loadA.incarnation, 0, "the coordinator stamps its incarnation")
        // the coordinator dies; a new run takes the same address
        kill(a.processIdentifier, SIGKILL); a.waitUntilExit()
        let b = try coordinator(endpoint, "b.log")
        var loadB: Envelope?
        XCTAssertTrue(Strata.waitFor(20) { loadB = try? registerAndGetLoad(); return loadB != nil }, "registered with the new run")
        let newLoad = try XCTUnwrap(loadB)
        XCTAssertEqual(newLoad.requestID, loadA.requestID, "request ids restart with each run: the collision")
        XCTAssertNotEqual(newLoad.incarnation, loadA.incarnation)
        // the late answer to run A's request reaches run B
        let late = CoordinatorGate.echo(Envelope(requestID: loadA.requestID, status: .ok, body: .loadModelReply(LoadModelReply(name: "de", dimension: 3, crossEncoder: false))), of: loadA)
        try w.send(try Wire.encode(late))
        let log = tmp.appendingPathComponent("b.log")
        XCTAssertTrue(Strata.waitFor(10) { ((try? String(contentsOf: log, encoding: .utf8)) ?? "").contains("dropped a reply to request \(loadA.requestID) of another coordinator run") },
                      (try? String(contentsOf: log, encoding: .utf8)) ?? "")
        _ = b
    }
}
