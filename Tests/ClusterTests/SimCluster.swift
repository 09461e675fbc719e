import Foundation
import Cluster
import Wire

/// A deterministic stand-in engine for the protocol tests: a text's embedding is its
/// normalised character histogram over 8 buckets; CE scores are 10 x the dot product plus a
/// length-dependent bump, so re-ranking changes the order.
final class HashEngine: InferenceEngine {
    var loaded: [String: Bool] = [:]
    var precisionName = "fp32"
    var embedCalls = 0
    func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool) {
        if path.contains("missing") { throw EngineError(.notFound, "no model at \(path)") }
        loaded[name] = path.contains("ce"); return (8, path.contains("ce"))
    }
    static func vector(_ t: String) -> [Float] {
        var v = [Float](repeating: 0, count: 8)
        for u in t.unicodeScalars { v[Int(u.value % 8)] += 1 }
        let n = (v.reduce(0) { $0 + $1 * $1 }).squareRoot()
        return n > 0 ? v.map { $0 / n } : v
    }
    func embed(model: String, texts: [String]) throws -> Vectors {
        embedCalls += 1
        return Vectors(rows: texts.count, dimension: 8, data: texts.flatMap(Self.vector))
    }
    static func score(_ q: String, _ p: String) -> Float {
        let a = vector(q), b = vector(p)
        return 10 * zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } + Float(p.count % 3)
    }
    func score(model: String, query: String, passages: [String]) throws -> [Float] { passages.map { Self.score(query, $0) } }
}

/// The coordinator state machine wired to in-memory workers (WorkerService + HashEngine).
/// Every message goes through Wire encode/decode. Workers can be taken down (their traffic is
/// dropped and they stop heartbeating) or black-holed (they heartbeat but never answer).
final class SimCluster {
    var coordinator: Coordinator
    var workers: [Peer: WorkerService] = [:]
    var down: Set<Peer> = []
    var blackhole: Set<Peer> = []
    var now: Double = 1_000_000
    var clientInbox: [Envelope] = []
    var persisted: [(job: String, chunk: Int, vectors: Vectors)] = []
    var finishedJobs: [String] = []
    /// Jobs the coordinator asked to journal as failed, with the error.
    var failedJobs: [(job: String, error: String)] = []
    var logs: [String] = []
    /// Jobs the coordinator asked to store (journal), and the error the sim's disk answers with.
    var storedJobs: [JobJournal.Spec] = []
    var storeError: RPCStatus?
    let client = Peer("client")
    /// Rewrites a worker's reply before the coordinator sees it (a faulty or hostile worker).
    var tamper: ((Peer, Envelope) -> Envelope)?
    /// The shell's send of a message to a worker fails with this error (the wire refused it): the
    /// sim hands the coordinator `sendFailed` as the real shell does, and the worker gets nothing.
    var refuseSend: ((Peer, Envelope) -> String?)?
    /// Every message the coordinator sent to a worker, in order (dropped ones included).
    var sentToWorkers: [(to: Peer, env: Envelope)] = []
    var nextClientID: UInt64 = 1
    let root: URL

    init(corpus: [Document], shards: Int, replication: Int, ce: Bool = false, placementDelay: Double = 0,
         configure: (inout CoordinatorConfig) -> Void = { _ in }) {
        var cfg = CoordinatorConfig()
        cfg.placementDelay = placementDelay
        cfg.shardCount = shards; cfg.replication = replication
        cfg.deModel = "/models/de"; cfg.ceModel = ce ? "/models/ce" : nil
        cfg.searchDeadline = 2
        configure(&cfg)
        coordinator = Coordinator(config: cfg, corpus: corpus)
        root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-sim-\(UUID().uuidString)")
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func wire(_ e: Envelope) -> Envelope { try! Wire.decode(try! Wire.encode(e)) }

    func addWorker(_ name: String) {
        let p = Peer(name)
        let service = workers[p] ?? WorkerService(engine: HashEngine(), dataDir: root.appendingPathComponent(name))
        workers[p] = service
        run([.message(from: p, Envelope(requestID: 1, body: .registerRequest(RegisterRequest(workerID: name, protocolVersion: ProtocolConstants.protocolVersion,
                                                                                             shardsHeld: service.shardsOnDisk()))), now: now)])
    }

    /// Processes events until nothing is left in flight.
    func run(_ events: [CoordinatorEvent]) {
        var queue = events
        while !queue.isEmpty {
            let ev = queue.removeFirst()
            for a in coordinator.handle(ev) {
                switch a {
                case .send(let to, let env):
                    if to == client { clientInbox.append(wire(env)); continue }
                    sentToWorkers.append((to, env))
                    if let why = refuseSend?(to, env) {
                        queue.append(.sendFailed(to: to, requestID: env.requestID, error: why, now: now)); continue
                    }
                    guard let w = workers[to], !down.contains(to), !blackhole.contains(to) else { continue }
                    if let reply = w.handle(wire(env), now: now) { queue.append(.message(from: to, wire(tamper?(to, reply) ?? reply), now: now)) }
                case .indexCorpus(let job, let request, let chunkSize):
                    queue.append(.corpusIndexed(jobID: job, IndexedCorpus.read(request, chunkSize: chunkSize), now: now))
                case .storeJob(let spec):
                    storedJobs.append(spec)
                    queue.append(.jobStored(jobID: spec.jobID, error: storeError, now: now))
                case .readChunkTexts(let job, let chunk, let worker):
                    let j = coordinator.jobs[job]!
                    do { queue.append(.chunkTextsRead(jobID: job, chunk: chunk, worker: worker, texts: try j.corpus.texts(in: j.range(chunk)), now: now)) } catch {
                        queue.append(.chunkReadFailed(jobID: job, chunk: chunk, worker: worker, error: "\(error)", now: now))
                    }
                case .persistChunk(let job, let chunk, let v): persisted.append((job, chunk, v))
                case .finishJob(let job): finishedJobs.append(job)
                case .failJob(let job, let error): failedJobs.append((job, error))
                case .log(let s): logs.append(s)
                }
            }
        }
    }

    /// Advances time in steps of `step`, with live workers heartbeating at each step.
    func advance(_ seconds: Double, step: Double = 0.25) {
        var t = 0.0
        while t < seconds {
            now += step; t += step
            var evs: [CoordinatorEvent] = workers.keys.sorted().filter { !down.contains($0) }.map {
                .message(from: $0, Envelope(requestID: 0, body: .heartbeat(Heartbeat(workerID: $0.description, sequence: 0))), now: now)
            }
            evs.append(.tick(now: now))
            run(evs)
        }
    }

    /// Requests of one kind sent to workers so far.
    func sent(_ kind: (Body) -> Bool) -> Int { sentToWorkers.filter { kind($0.env.body) }.count }

    /// Sends a search from the client and returns the reply (after at most `wait` seconds of
    /// simulated time, advanced in steps of `step`).
    func search(_ q: String, k: Int, rerank: Bool = false, rerankTop: Int = 0, wait: Double = 3, step: Double = 0.25) -> Envelope? {
        let id = nextClientID; nextClientID += 1
        run([.message(from: client, Envelope(requestID: id, body: .searchRequest(SearchRequest(query: q, topK: k, rerank: rerank, rerankTop: rerankTop))), now: now)])
        var waited = 0.0
        while !clientInbox.contains(where: { $0.requestID == id }) && waited < wait { advance(step, step: step); waited += step }
        guard let i = clientInbox.firstIndex(where: { $0.requestID == id }) else { return nil }
        return clientInbox.remove(at: i)
    }

    /// The exact answer, by brute force over the whole corpus.
    static func bruteForce(_ corpus: [Document], _ q: String, k: Int) -> [Hit] {
        let qv = HashEngine.vector(q)
        let all = corpus.enumerated().map { i, d in
            Hit(docIndex: i, docID: d.id, score: zip(qv, HashEngine.vector(d.text)).reduce(0) { $0 + $1.0 * $1.1 })
        }
        return Array(all.sorted { $0.score != $1.score ? $0.score > $1.score : $0.docIndex < $1.docIndex }.prefix(k))
    }
}

func makeCorpus(_ n: Int) -> [Document] {
    let words = ["apt", "zmq", "kernel", "vector", "shard", "query", "merge", "heartbeat", "lease", "chunk", "épée", "日本"]
    return (0..<n).map { i in
        var rng = UInt64(i) &* 6364136223846793005 &+ 1442695040888963407
        let text = (0..<(3 + i % 5)).map { _ -> String in rng = rng &* 6364136223846793005 &+ 1; return words[Int(rng >> 33) % words.count] }.joined(separator: " ")
        return Document(id: "doc\(i)", text: text)
    }
}
