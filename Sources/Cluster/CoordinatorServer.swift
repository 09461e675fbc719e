import Foundation
import Wire
import ZMQ

/// The coordinator's shell: a ROUTER socket, the clock, and the disk (job corpora, journals and
/// output, in CoordinatorServerJobs.swift) around the pure `Coordinator`. It turns traffic, time
/// and the outcome of each read or write into `CoordinatorEvent`s, and performs the
/// `CoordinatorAction`s that come back, in order.
public final class CoordinatorServer {
    public internal(set) var state: Coordinator
    let context: Context
    let router: Socket
    let zap: ZAPHandler?
    public let dataDir: URL
    /// The bound endpoint (with the real port when bound to port 0).
    public let endpoint: String
    var log: (String) -> Void
    /// Corpora of submitted jobs being indexed off the loop.
    let indexing: CorpusIndexing
    /// Role checks and the incarnation filter (CoordinatorServerGate.swift).
    var gate = CoordinatorGate()
    /// Dropped connections: the ROUTER's monitor and each peer's connection (CoordinatorServerMonitor.swift).
    var monitor: SocketMonitor?
    var connections = ConnectionTable()
    /// Test hook at the end of a job (CoordinatorServerOutput.swift).
    public var jobStepHook: JobStepHook?
    /// Client requests from other threads (HTTP), and the completions of those in flight by their
    /// synthetic peer (CoordinatorServerServing.swift).
    var gateway: ClientGateway?
    var gatewayPeers: [Peer: ClientGateway.Completion] = [:]
    var nextGatewayPeer: UInt64 = 0
    /// Embedding dimension of the served DE, read from its config.json (for /info).
    var servingDimension: Int?
    /// The query encoder's embedding cache, once it is loaded (CoordinatorLocalEncoder.swift; /metrics).
    var queryCache: EmbeddingCache?

    /// `indexingGate`, when given, is called on the background queue that indexes submitted
    /// corpora, with the corpus path, before the file is read: a test holds it to observe the
    /// event loop while a corpus is being indexed.
    public init(bind: String, dataDir: URL, config: CoordinatorConfig, corpus: [Document], keys: CurveKeys? = nil,
                indexingGate: (@Sendable (_ corpusPath: String) -> Void)? = nil, log: @escaping (String) -> Void = { _ in }) throws {
        state = Coordinator(config: config, corpus: corpus)
        indexing = CorpusIndexing(gate: indexingGate)
        self.dataDir = dataDir
        self.log = { log(LogLine.cap($0)) }
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        context = try Context()
        if let keys {
            guard let secret = keys.serverSecret else { throw ClusterError("server.key missing from the key directory") }
            zap = try ZAPHandler(context: context, roles: try keys.coordinatorRoles())
            router = try context.socket(.router)
            try router.makeCurveServer(secretKey: secret)
        } else {
            zap = nil
            router = try context.socket(.router)
        }
        try router.setMaxMessageSize(Int64(ProtocolConstants.maxFrameBytes))
        // A worker that reconnects (new process, same --id) before its old connection is noticed
        // dead must be accepted, not refused as a duplicate routing id.
        try router.setRouterHandover(true)
        try router.bind(bind)
        endpoint = try router.lastEndpoint
        monitor = startMonitor()
        try resumeJobs()
    }

    deinit { monitor?.stop(); router.close(); zap?.stop() }

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// Serves until `stop()` returns true (checked at every tick).
    public func run(until stop: () -> Bool) throws {
        var lastTick = 0.0
        while !stop() { try step(&lastTick) }
    }

    /// One turn of the event loop: wait for the ROUTER (or the monitor's connection events, or the
    /// gateway's wake-up) up to one tick, handle what arrived, and tick the state machine when a
    /// tick interval has passed.
    func step(_ lastTick: inout Double) throws {
        var poller = Poller([router] + (monitor.map { [$0.socket] } ?? []) + (gateway.map { [$0.receiver] } ?? []))
        let ready = try poller.poll(timeoutMilliseconds: Int(ProtocolConstants.tickInterval * 1000))
        if monitor != nil && ready[1] { connectionEvents() }
        if ready[0] {
            while let m = try router.receiveMultipart(dontWait: true, property: "User-Id") {
                if m.frames.count == 2 { connections.saw(Peer(m.frames[0]), fd: m.sourceFD) }
                handleFrames(m.frames, userID: m.property)
            }
        }
        if gateway != nil { serveGateway(Self.now()) }
        // Indexes finished off the loop are picked up within one poll timeout.
        for indexed in indexing.take() { corpusIndexed(indexed, Self.now()) }
        let t = Self.now()
        if t - lastTick >= ProtocolConstants.tickInterval {
            lastTick = t
            perform(state.handle(.tick(now: t)))
        }
    }

    func handleFrames(_ frames: [[UInt8]], userID: String? = nil) {
        guard frames.count == 2 else {
            log("dropped a message of \(frames.count) frames (expected routing id + one envelope)")
            if let id = frames.first { perform([.send(to: Peer(id), Envelope(requestID: 0, status: RPCStatus(.invalidArgument, "one envelope frame per message"), body: .error(RPCStatus(.invalidArgument, "one envelope frame per message"))))]) }
            return
        }
        let peer = Peer(frames[0])
        let t = Self.now()
        do {
            let env = try Wire.decode(frames[1])
            guard admitted(peer, env, userID: userID) else { return }
            if case .jobSubmitRequest(let m) = env.body { return perform(state.handle(.jobSubmitted(from: peer, requestID: env.requestID, confine(m), now: t))) }
            perform(state.handle(.message(from: peer, env, now: t)))
        } catch let e as WireError {
            perform(state.handle(.badFrame(from: peer, e, now: t)))
        } catch {
            log("unexpected decode error \(error)")
        }
    }

    func perform(_ actions: [CoordinatorAction]) {
        for a in actions {
            switch a {
            case .send(let to, let env):
                if let done = gatewayPeers.removeValue(forKey: to) { done(env); continue }
                do { try router.send(multipart: [to.bytes, try Wire.encode(gate.stamp(env))], dontWait: true) } catch {
                    // A request that never left must not stay in flight (a chunk would stay leased).
                    perform(state.handle(.sendFailed(to: to, requestID: env.requestID, error: "\(error)", now: Self.now())))
                }
            case .log(let s): log(s)
            case .failJob(let job, let error): journalFailure(job, error)
            case .indexCorpus(let job, let request, let chunkSize): indexCorpus(job, request, chunkSize: chunkSize)
            case .storeJob(let spec): storeJob(spec)
            case .readChunkTexts(let job, let chunk, let worker): readChunkTexts(job, chunk, worker)
            case .persistChunk(let job, let chunk, let v):
                do { try persistChunk(job, chunk, v) } catch {
                    perform(state.handle(.persistFailed(jobID: job, error: "cannot write chunk \(chunk): \(error)", now: Self.now())))
                }
            case .finishJob(let job):
                do { try finishJob(job) } catch {
                    perform(state.handle(.persistFailed(jobID: job, error: "cannot assemble the output: \(error)", now: Self.now())))
                }
            }
        }
    }
}
