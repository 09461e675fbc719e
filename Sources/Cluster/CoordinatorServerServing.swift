import Foundation
import Model
import Tokenizer
import Wire

/// What the HTTP front door reads of the coordinator (/ready, /info, /metrics), taken on the loop.
public struct CoordinatorSnapshot: Sendable {
    public struct Job: Sendable {
        public var id: String
        public var docsDone: Int
        public var docsTotal: Int
        public var finished: Bool
    }
    public var ready: Bool
    /// Why it is not ready ("" when ready).
    public var notReadyReason: String
    public var draining: Bool
    public var workersLive: Int
    /// Ready replicas of each shard (empty without a corpus).
    public var shardReplicas: [Int]
    public var documents: Int
    public var clientRequestsInFlight: Int
    public var deModel: String?
    public var ceModel: String?
    public var deMaxLength: Int?
    public var ceMaxLength: Int?
    public var deDimension: Int?
    public var limits: ServingLimits
    public var jobs: [Job]
    /// Texts the coordinator's query encoder answered from its cache, and texts it embedded (0, 0
    /// without the encoder or its cache).
    public var queryCacheHits = 0
    public var queryCacheMisses = 0
}

extension CoordinatorServer {
    /// Opens the gateway other threads hand client requests through (once; later calls return it).
    public func openGateway() throws -> ClientGateway {
        if let g = gateway { return g }
        let g = try ClientGateway(context: context)
        gateway = g
        return g
    }

    /// Sets the serving limits and loads the served models' tokenizers (to count tokens and check
    /// lengths) when their directories are readable here.
    public func configureServing(_ limits: ServingLimits) {
        state.serving.limits = limits
        func tokenizer(_ path: String?) -> BertTokenizer? {
            guard let path, let dir = try? ModelLocator.resolve(path) else { return nil }
            do { return try BertTokenizer(directory: dir) } catch {
                log("cannot load the tokenizer of \(path) here (\(error)): no token counts or length checks for it"); return nil
            }
        }
        state.serving.deTokenizer = tokenizer(state.config.deModel)
        state.serving.ceTokenizer = tokenizer(state.config.ceModel)
        if let de = state.config.deModel, let dir = try? ModelLocator.resolve(de),
           let data = FileManager.default.contents(atPath: dir.appendingPathComponent("config.json").path),
           let cfg = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            servingDimension = (cfg["hidden_size"] as? NSNumber)?.intValue
        }
    }

    /// Feeds what the gateway queued to the state machine (the same path as a ZeroMQ frame).
    func serveGateway(_ now: Double) {
        guard let g = gateway else { return }
        for item in g.take() {
            switch item {
            case .call(let env, let completion):
                nextGatewayPeer += 1
                // A ZeroMQ routing id never starts with a zero byte unless libzmq generated it (5 bytes):
                // these 13-byte ids cannot collide with a real peer.
                let peer = Peer([0] + Array("http".utf8) + withUnsafeBytes(of: nextGatewayPeer.bigEndian) { Array($0) })
                gatewayPeers[peer] = completion
                perform(state.handle(.message(from: peer, env, now: now)))
            case .inspect(let f):
                f(self)
            }
        }
    }

    /// The state the front door reports; call on the loop (inside `ClientGateway.inspect`).
    public func snapshot() -> CoordinatorSnapshot {
        let s = state
        var reason = ""
        if s.serving.draining { reason = "the coordinator is shutting down" }
        else if s.liveWorkers.isEmpty { reason = "no live worker" }
        else if let de = s.config.deModel, s.withModel(ProtocolConstants.deModelName).isEmpty { reason = "no worker has loaded the embedding model \(de) yet" }
        else if let ce = s.config.ceModel, s.withModel(ProtocolConstants.ceModelName).isEmpty { reason = "no worker has loaded the cross encoder \(ce) yet" }
        else if !s.ready { reason = "\(s.shardMap.shards.count - s.shardsReady) of \(s.shardMap.shards.count) shards have no ready replica" }
        let replicas = s.corpus.isEmpty ? [] : s.shardMap.shards.map { sh in sh.ready.filter { s.membership.workers[$0] != nil }.count }
        let jobs = s.jobs.keys.sorted().map { id -> CoordinatorSnapshot.Job in
            let j = s.jobs[id]!
            return .init(id: id, docsDone: j.scheduler.done.reduce(0) { $0 + j.range($1).count }, docsTotal: j.spec.docCount,
                         finished: j.scheduler.finished)
        }
        return CoordinatorSnapshot(ready: reason.isEmpty, notReadyReason: reason, draining: s.serving.draining, workersLive: s.liveWorkers.count,
                                   shardReplicas: replicas, documents: s.corpus.count, clientRequestsInFlight: s.clientRequestsInFlight,
                                   deModel: s.config.deModel, ceModel: s.config.ceModel, deMaxLength: s.serving.deTokenizer?.maxLength,
                                   ceMaxLength: s.serving.ceTokenizer?.maxLength, deDimension: servingDimension, limits: s.serving.limits, jobs: jobs,
                                   queryCacheHits: queryCache?.hits ?? 0, queryCacheMisses: queryCache?.misses ?? 0)
    }

    /// Graceful drain (SIGTERM): refuse new client requests (UNAVAILABLE), keep the loop turning
    /// until every request in flight is answered or `grace` seconds pass, then answer what is left
    /// with UNAVAILABLE and close the gateway. Chunk results that arrive meanwhile are persisted
    /// (each journal append is fsync'd), so a restart resumes every job from its journal.
    public func drain(grace: Double) throws {
        state.beginDrain()
        let end = Self.now() + max(0, grace)
        log("draining: \(state.clientRequestsInFlight) client request(s) in flight, up to \(grace) s")
        var lastTick = 0.0
        while (state.clientRequestsInFlight > 0 || (gateway?.queued ?? 0) > 0) && Self.now() < end {
            try step(&lastTick)
        }
        if state.clientRequestsInFlight > 0 { log("drain: \(state.clientRequestsInFlight) request(s) unanswered after \(grace) s") }
        perform(state.abandonClientRequests(RPCStatus(.unavailable, "the coordinator shut down before answering")))
        let s = RPCStatus(.unavailable, "the coordinator has stopped")
        for item in gateway?.close() ?? [] {
            switch item {
            case .call(let env, let done): done(Envelope(requestID: env.requestID, status: s, body: .error(s)))
            case .inspect(let f): f(self)
            }
        }
        for (_, done) in gatewayPeers { done(Envelope(requestID: 0, status: s, body: .error(s))) }
        gatewayPeers = [:]
        log("drained")
    }
}
