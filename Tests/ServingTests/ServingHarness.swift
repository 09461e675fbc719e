import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest
import Cluster
import Serving
import Wire

/// A deterministic engine whose calls can be held (to keep requests in flight on purpose).
/// A text's embedding is its character histogram over 8 buckets (not normalised, so /embed's
/// normalisation shows); a CE score is the histograms' dot product less 3.
final class GateEngine: InferenceEngine, @unchecked Sendable {
    private let cond = NSCondition()
    private var held = false
    private var waiting = 0

    func hold() { cond.lock(); held = true; cond.unlock() }
    func release() { cond.lock(); held = false; cond.broadcast(); cond.unlock() }
    /// Calls blocked right now.
    var blocked: Int { cond.lock(); defer { cond.unlock() }; return waiting }

    private func gate() {
        cond.lock()
        waiting += 1
        while held { cond.wait() }
        waiting -= 1
        cond.unlock()
    }

    static func vector(_ t: String) -> [Float] {
        var v = [Float](repeating: 0, count: 8)
        for u in t.unicodeScalars { v[Int(u.value % 8)] += 1 }
        return v
    }
    static func score(_ q: String, _ p: String) -> Float { zip(vector(q), vector(p)).reduce(0) { $0 + $1.0 * $1.1 } / 10 - 3 }

    func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool) { (8, name == ProtocolConstants.ceModelName) }
    func embed(model: String, texts: [String]) throws -> Vectors {
        gate()
        return Vectors(rows: texts.count, dimension: 8, data: texts.flatMap(Self.vector))
    }
    func score(model: String, query: String, passages: [String]) throws -> [Float] {
        gate()
        return passages.map { Self.score(query, $0) }
    }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock(); private var v = false
    var value: Bool { lock.lock(); defer { lock.unlock() }; return v }
    func set() { lock.lock(); v = true; lock.unlock() }
}

enum Fixtures {
    static var repoRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }
    /// Tiny committed checkpoints (their tokenizers give the coordinator its token counts).
    static func model(_ name: String) throws -> String {
        let p = repoRoot.appendingPathComponent("Tests/ModelTests/Fixtures/\(name)").path
        guard FileManager.default.fileExists(atPath: p + "/vocab.txt") else { throw XCTSkip("fixture model \(p) is absent") }
        return p
    }
    static func corpus(_ n: Int) -> [Document] {
        let words = ["network", "daemon", "font", "graphics", "audio", "kernel", "python", "editor"]
        return (0..<n).map { i in Document(id: "doc-\(i)", text: (0..<(2 + i % 5)).map { words[(i * 7 + $0 * 3) % words.count] }.joined(separator: " ")) }
    }
}

/// An in-process coordinator (its real shell and event loop) with the HTTP front door on
/// 127.0.0.1 (port 0), and workers on GateEngine, over loopback.
final class ServingCluster {
    let server: CoordinatorServer
    let door: HTTPFrontDoor
    let engine = GateEngine()
    let root: URL
    let stop = Flag()
    let loopDone = DispatchGroup()
    var workerStop = Flag()
    let workerDone = DispatchGroup()
    var base: String { "http://127.0.0.1:\(door.port)" }

    init(workers: Int = 1, grace: Double = 10, config: (inout CoordinatorConfig) -> Void = { _ in },
         limits: (inout ServingLimits) -> Void = { _ in }, options: (inout HTTPFrontDoor.Options) -> Void = { _ in }) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-serving-\(UUID().uuidString)")
        var cfg = CoordinatorConfig()
        cfg.shardCount = 2
        cfg.deModel = try Fixtures.model("tiny-de-legacy")
        cfg.ceModel = try Fixtures.model("tiny-ce")
        config(&cfg)
        server = try CoordinatorServer(bind: "tcp://127.0.0.1:0", dataDir: root.appendingPathComponent("coord"), config: cfg, corpus: Fixtures.corpus(30))
        var l = ServingLimits()
        limits(&l)
        server.configureServing(l)
        var o = HTTPFrontDoor.Options()
        o.maxClientBatch = l.maxClientBatch
        options(&o)
        door = try HTTPFrontDoor(host: "127.0.0.1", port: 0, gateway: try server.openGateway(), options: o)
        let (server, door, stop) = (server, door, stop)
        loopDone.enter()
        Thread.detachNewThread { [loopDone] in
            // As `strata coordinator` does: serve, then drain on stop.
            try? server.run(until: { stop.value })
            door.beginDrain()
            try? server.drain(grace: grace)
            door.stop()
            loopDone.leave()
        }
        for i in 0..<workers { try addWorker("w\(i)") }
    }

    func addWorker(_ id: String) throws {
        let w = try WorkerServer(coordinator: server.endpoint, service: WorkerService(engine: engine, dataDir: root.appendingPathComponent(id)), workerID: id)
        let f = workerStop
        workerDone.enter()
        Thread.detachNewThread { [workerDone] in try? w.run(until: { f.value }); workerDone.leave() }
    }

    func shutdown() {
        engine.release()
        stop.set()
        _ = loopDone.wait(timeout: .now() + 15)
        workerStop.set()
        _ = workerDone.wait(timeout: .now() + 5)
        try? FileManager.default.removeItem(at: root)
    }

    /// Waits until GET /ready answers 200.
    func waitReady(_ seconds: Double = 20) throws {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if (try? Web.get(base + "/ready").status) == 200 { return }
            usleep(50_000)
        }
        XCTFail("/ready never answered 200 within \(seconds) s")
        throw XCTSkip("not ready")
    }
}

/// A minimal synchronous HTTP client (URLSession).
enum Web {
    struct Reply {
        var status: Int
        var body: Data
        var headers: [String: String]
        var json: Any? { try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed]) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    static let session: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 30
        return URLSession(configuration: c)
    }()

    static func request(_ method: String, _ url: String, body: Data? = nil) throws -> Reply {
        var r = URLRequest(url: URL(string: url)!)
        r.httpMethod = method
        if let body { r.httpBody = body; r.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        final class Box: @unchecked Sendable { var reply: Reply?; var error: Error? }
        let box = Box(), done = DispatchSemaphore(value: 0)
        session.dataTask(with: r) { data, response, error in
            if let h = response as? HTTPURLResponse {
                var headers: [String: String] = [:]
                for (k, v) in h.allHeaderFields { headers[String(describing: k).lowercased()] = String(describing: v) }
                box.reply = Reply(status: h.statusCode, body: data ?? Data(), headers: headers)
            }
            box.error = error
            done.signal()
        }.resume()
        done.wait()
        if let reply = box.reply { return reply }
        throw box.error ?? URLError(.badServerResponse)
    }

    static func get(_ url: String) throws -> Reply { try request("GET", url) }

    static func post(_ url: String, _ object: Any) throws -> Reply {
        try request("POST", url, body: try JSONSerialization.data(withJSONObject: object))
    }
}
