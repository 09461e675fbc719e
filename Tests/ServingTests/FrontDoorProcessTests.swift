import Foundation
import XCTest
import Cluster
import Formats
import Model
import Wire

/// The `strata` binary serving HTTP: the official `openai` Python package as a client of
/// /v1/embeddings (compared with `strata embed`), and the drain of a real coordinator on SIGTERM.
final class FrontDoorProcessTests: XCTestCase {
    var tmp: URL!
    var processes: [Process] = []

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("strata-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDown() {
        for p in processes where p.isRunning {
            // Its children first (`pkill -P`, by parent id): a killed `cluster up` cannot stop the
            // coordinator and workers it started.
            let k = Process()
            k.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
            k.arguments = ["-KILL", "-P", String(p.processIdentifier)]
            if (try? k.run()) != nil { k.waitUntilExit() }
            kill(p.processIdentifier, SIGKILL); p.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: tmp)
    }

    static func binary() throws -> String {
        var dir = Bundle(for: Self.self).bundleURL
        for _ in 0..<4 {
            let p = dir.appendingPathComponent("strata").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
            dir = dir.deletingLastPathComponent()
        }
        throw XCTSkip("the strata binary is not built next to the test bundle; run `swift build` first")
    }

    func spawn(_ exe: String, _ args: [String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let h = try FileHandle(forWritingTo: log)
        p.standardOutput = h; p.standardError = h
        try p.run()
        processes.append(p)
        return p
    }

    func waitFor(_ seconds: Double, _ c: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end { if c() { return true }; usleep(50_000) }
        return c()
    }

    func writeCorpus(_ n: Int) throws -> URL {
        let url = tmp.appendingPathComponent("corpus.jsonl")
        let lines = Fixtures.corpus(n).map { d -> String in
            String(decoding: try! JSONSerialization.data(withJSONObject: ["_id": d.id, "title": "", "text": d.text]), as: UTF8.self)
        }
        try (lines.joined(separator: "\n") + "\n").write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    func testOpenAIPythonClientGetsTheEmbeddingsOfStrataEmbed() throws {
        let exe = try Self.binary()
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import openai"]
        probe.standardError = FileHandle.nullDevice
        guard (try? probe.run()) != nil else { throw XCTSkip("python3 is not available") }
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else { throw XCTSkip("the openai Python package is not installed (pip install openai)") }

        let de = try Fixtures.model("tiny-de-legacy")
        let corpus = try writeCorpus(20)
        let log = tmp.appendingPathComponent("up.log")
        _ = try spawn(exe, ["cluster", "up", "--workers", "1", "--corpus", corpus.path, "--model", de, "--http", "127.0.0.1:0",
                            "--data-dir", tmp.appendingPathComponent("cl").path], log: log)
        var base = ""
        XCTAssertTrue(waitFor(60) {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            guard text.contains("\nready ") || text.hasPrefix("ready ") else { return false }
            base = text.split(separator: "\n").first { $0.hasPrefix("http ") }.map { String($0.dropFirst(5)) } ?? ""
            return true
        }, "cluster up never printed `ready`")
        XCTAssertTrue(base.hasPrefix("http://127.0.0.1:"), base)

        // The same texts through `strata embed`, one at a time (as the cluster embeds a request of one).
        let texts = ["network daemon for the server", "fonts", "audio kernel python editor graphics"]
        var expected: [[Float]] = []
        for (i, t) in texts.enumerated() {
            let input = tmp.appendingPathComponent("t\(i).txt"), out = tmp.appendingPathComponent("t\(i).npy")
            try (t + "\n").write(to: input, atomically: true, encoding: .utf8)
            let p = Process()
            p.executableURL = URL(fileURLWithPath: exe)
            p.arguments = ["embed", "--model", de, "--input", input.path, "--output", out.path]
            p.standardError = FileHandle.nullDevice; p.standardOutput = FileHandle.nullDevice
            try p.run(); p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            expected.append(try NumpyFile.read(out.path).data)
        }

        // The official client, unchanged, pointed at base_url=.../v1: one text per call, in its
        // default encoding (base64 since openai 1.x) and in float.
        let script = """
        import json, sys, openai
        c = openai.OpenAI(base_url=sys.argv[1] + "/v1", api_key="unused")
        texts = json.loads(sys.argv[2])
        out = {"default": [], "float": [], "tokens": 0}
        for t in texts:
            r = c.embeddings.create(input=t, model="tiny")
            out["default"].append(r.data[0].embedding)
            out["tokens"] += r.usage.prompt_tokens
            out["float"].append(c.embeddings.create(input=[t], model="tiny", encoding_format="float").data[0].embedding)
        print(json.dumps(out))
        """
        let py = Process()
        py.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        py.arguments = ["python3", "-c", script, base, String(decoding: try JSONSerialization.data(withJSONObject: texts), as: UTF8.self)]
        let pipe = Pipe(), errPipe = Pipe()
        py.standardOutput = pipe; py.standardError = errPipe
        try py.run()
        let outData = pipe.fileHandleForReading.readDataToEndOfFile()
        let errData = errPipe.fileHandleForReading.readDataToEndOfFile()
        py.waitUntilExit()
        XCTAssertEqual(py.terminationStatus, 0, String(decoding: errData, as: UTF8.self))
        let got = try XCTUnwrap(try JSONSerialization.jsonObject(with: outData) as? [String: Any])
        for form in ["default", "float"] {
            let vectors = try XCTUnwrap(got[form] as? [[NSNumber]])
            XCTAssertEqual(vectors.count, texts.count)
            for (v, e) in zip(vectors, expected) {
                XCTAssertEqual(v.count, e.count)
                for (a, b) in zip(v.map(\.floatValue), e) { XCTAssertEqual(a, b, accuracy: 1e-5, form) }
            }
        }
        XCTAssertGreaterThan(got["tokens"] as? Int ?? 0, texts.count * 2)
    }

    func testSIGTERMDrainsInFlightRequestsAndExitsZero() throws {
        let exe = try Self.binary()
        let corpus = try writeCorpus(12)
        let endpointFile = tmp.appendingPathComponent("ep"), httpFile = tmp.appendingPathComponent("http")
        let log = tmp.appendingPathComponent("coord.log")
        let coord = try spawn(exe, ["coordinator", "--bind", "tcp://127.0.0.1:0", "--data-dir", tmp.appendingPathComponent("co").path,
                                    "--corpus", corpus.path, "--model", try Fixtures.model("tiny-de-legacy"), "--ce", try Fixtures.model("tiny-ce"),
                                    "--shards", "2", "--settle", "0", "--endpoint-file", endpointFile.path,
                                    "--http", "127.0.0.1:0", "--http-endpoint-file", httpFile.path, "--grace", "20",
                                    // the request kept in flight is held by this worker's engine, not embedded in the coordinator
                                    "--query-embedding", "workers"], log: log)
        var endpoint = "", base = ""
        XCTAssertTrue(waitFor(20) {
            endpoint = (try? String(contentsOf: endpointFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            base = (try? String(contentsOf: httpFile, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return !endpoint.isEmpty && !base.isEmpty
        }, "the coordinator did not write its endpoints")
        // A worker in this process, whose engine holds the request we keep in flight.
        let engine = GateEngine()
        let worker = try WorkerServer(coordinator: endpoint, service: WorkerService(engine: engine, dataDir: tmp.appendingPathComponent("w")), workerID: "w")
        let stopWorker = Flag(), workerDone = DispatchGroup()
        workerDone.enter()
        Thread.detachNewThread { try? worker.run(until: { stopWorker.value }); workerDone.leave() }
        defer { engine.release(); stopWorker.set(); _ = workerDone.wait(timeout: .now() + 5) }
        XCTAssertTrue(waitFor(20) { (try? Web.get(base + "/ready").status) == 200 }, "never ready")

        engine.hold()
        let url = base
        final class Box: @unchecked Sendable { var reply: Web.Reply? }
        let box = Box(), done = DispatchGroup()
        done.enter()
        DispatchQueue.global().async { box.reply = try? Web.post(url + "/v1/embeddings", ["input": ["in flight"]]); done.leave() }
        XCTAssertTrue(waitFor(5) { engine.blocked == 1 })
        kill(coord.processIdentifier, SIGTERM)
        XCTAssertTrue(waitFor(5) { (try? Web.get(base + "/ready"))?.status == 503 }, "/ready did not turn 503 on SIGTERM")
        XCTAssertEqual(try Web.post(base + "/embed", ["inputs": "new"]).status, 503)
        XCTAssertTrue(coord.isRunning, "the coordinator exited with a request in flight")
        engine.release()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(box.reply?.status, 200, box.reply?.text ?? "no reply")
        XCTAssertEqual((box.reply?.object["data"] as? [[String: Any]])?.count, 1)
        XCTAssertTrue(waitFor(10) { !coord.isRunning }, "the coordinator did not exit after the drain")
        coord.waitUntilExit()
        XCTAssertEqual(coord.terminationStatus, 0, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
        XCTAssertEqual(coord.terminationReason, .exit)
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        XCTAssertTrue(text.contains("drained"), text)
    }
}
