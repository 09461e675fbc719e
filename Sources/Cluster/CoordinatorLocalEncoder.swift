import Foundation
import Kernels
import Model
import Wire

/// The coordinator's own encoder of the served DE: a `WorkerScheduler` over a `WorkerService`
/// with only the DE loaded, in the coordinator's process. The state machine sees it as a synthetic
/// peer (`peer`) it sends EmbedBatch requests to; replies come back through the client gateway as
/// messages from that peer. A query embedded here never waits behind a worker's job batch (a
/// worker's forward passes are serialised, so a query sent to a worker waits for the engine batch
/// of a job chunk it is running), and concurrent queries are gathered into one forward pass as on a
/// worker. Shard searches and re-ranks stay on the workers.
final class LocalQueryEncoder: @unchecked Sendable {
    /// Starts with a zero byte like the gateway's peers (no libzmq routing id does); 14 bytes.
    static let peer = Peer([0] + Array("local-encoder".utf8))
    let service: WorkerService
    let scheduler: WorkerScheduler
    /// Embeddings of texts seen before (`--query-cache` entries; capacity 0: off).
    let cache: EmbeddingCache

    init(service: WorkerService, cache: EmbeddingCache, deliver: @escaping (Envelope) -> Void) {
        self.service = service
        self.cache = cache
        scheduler = WorkerScheduler(service: service, deliver: deliver)
    }
}

extension CoordinatorServer {
    /// Loads the served DE (with `--retrieval-layer`, that layer of it) in this process in
    /// `precision` (the workers' precision, so queries and shards share one embedding) and embeds
    /// queries and embed calls here from now on. Throws when the model cannot be loaded here (the
    /// caller may go on with workers embedding).
    ///
    /// The encoder sets one-thread OpenBLAS for the process (the coordinator runs no other BLAS
    /// work) and one forward thread per core, `LocalEngine`. Texts embedded before are answered
    /// from a cache of `queryCache` entries (0: none), `EmbeddingCache`.
    public func startLocalQueryEncoder(precision: Precision = .fp32, maxBatchTokens: Int = 16_384,
                                       queryCache: Int = EmbeddingCache.defaultCapacity) throws {
        guard state.serving.localEncoder == nil else { return }
        guard let de = state.config.deModel else { throw ClusterError("no --model to embed queries with") }
        let encoder = try Self.loadLocalEncoder(de, layer: state.config.retrievalLayer, precision: precision, maxBatchTokens: maxBatchTokens,
                                                queryCache: queryCache, gateway: try openGateway(), dataDir: dataDir)
        useLocalEncoder(encoder, precision)
    }

    /// `startLocalQueryEncoder` with the model loaded on another thread (the loop serves meanwhile,
    /// queries going to workers); logs why when it cannot load.
    public func startLocalQueryEncoderInBackground(precision: Precision = .fp32, maxBatchTokens: Int = 16_384,
                                                   queryCache: Int = EmbeddingCache.defaultCapacity) throws {
        guard let de = state.config.deModel else { throw ClusterError("no --model to embed queries with") }
        let (layer, dir, gateway) = (state.config.retrievalLayer, dataDir, try openGateway())
        Thread.detachNewThread {
            let loaded = Result { try Self.loadLocalEncoder(de, layer: layer, precision: precision, maxBatchTokens: maxBatchTokens,
                                                           queryCache: queryCache, gateway: gateway, dataDir: dir) }
            let box = UncheckedResult(loaded)
            gateway.inspect { s in
                switch box.value {
                case .success(let encoder): s.useLocalEncoder(encoder, precision)
                case .failure(let error): s.log("queries are embedded by the workers (the model does not load here: \(error))")
                }
            }
        }
    }

    /// An encoder with the DE `de` loaded (any thread: touches no server state).
    private static func loadLocalEncoder(_ de: String, layer: Int?, precision: Precision, maxBatchTokens: Int, queryCache: Int,
                                         gateway: ClientGateway, dataDir: URL) throws -> LocalQueryEncoder {
        let peer = LocalQueryEncoder.peer
        let cache = EmbeddingCache(capacity: queryCache)
        let service = WorkerService(engine: CachingEngine(LocalEngine(ModelEngine(precision: precision)), cache: cache), dataDir: dataDir)
        service.maxBatchTokens = maxBatchTokens
        _ = try service.load(ProtocolConstants.deModelName, de, embedLayer: layer)
        let encoder = LocalQueryEncoder(service: service, cache: cache, deliver: { [weak gateway] reply in
            // On the encoder's thread: the reply enters the loop like a worker's frame.
            gateway?.inspect { server in server.perform(server.state.handle(.message(from: peer, reply, now: Self.now()))) }
        })
        encoder.scheduler.start()
        return encoder
    }

    /// Routes query embeddings to `encoder` from now on (on the loop).
    private func useLocalEncoder(_ encoder: LocalQueryEncoder, _ precision: Precision) {
        guard state.serving.localEncoder == nil else { return }
        installLocalEncoder(encoder)
        queryCache = encoder.cache
        state.serving.localEncoder = LocalQueryEncoder.peer
        log("query embedding in the coordinator (\(precision), \(URL(fileURLWithPath: state.config.deModel ?? "").lastPathComponent)"
            + (state.config.retrievalLayer.map { ", layer \($0)" } ?? "") + ")")
    }

    /// What the loop sends to the encoder's peer goes to its scheduler: `perform` hands an envelope
    /// for a synthetic peer to that peer's completion and removes it (one reply per HTTP call), so
    /// the completion puts itself back each time.
    private func installLocalEncoder(_ encoder: LocalQueryEncoder) {
        let server = UncheckedServer(self)
        gatewayPeers[LocalQueryEncoder.peer] = { env in
            encoder.scheduler.submit(env)
            server.value?.installLocalEncoder(encoder)
        }
    }
}

/// The coordinator's engine: `ModelEngine` with one-thread OpenBLAS and one forward thread per core.
/// A few queries run their GEMMs on one thread: a multi-threaded GEMM waits at every call for a helper
/// thread the kernel may not schedule for milliseconds while workers compute (measured: query
/// embeddings of 17-90 ms idle and ~1 s during a job with two threads, 6-11 ms idle with one, on the
/// loaded 2-core machine). From two sequences per core on, the engine (`BertEngine.forward`) splits
/// the batch into one group per core, each on its own thread with one-thread BLAS: every core is used.
/// The coordinator makes no other BLAS calls, so its process-wide OpenBLAS count is set once, to 1.
final class LocalEngine: InferenceEngine {
    let inner: ModelEngine
    init(_ inner: ModelEngine) {
        self.inner = inner
        inner.parallelism = Parallelism(threads: max(1, ProcessInfo.processInfo.activeProcessorCount))
        Parallelism.configureProcess(.serial)
    }

    func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool) { try inner.loadModel(name: name, path: path) }
    func loadModel(name: String, path: String, embedLayer: Int?) throws -> (dimension: Int, crossEncoder: Bool) {
        try inner.loadModel(name: name, path: path, embedLayer: embedLayer)
    }
    func embed(model: String, texts: [String]) throws -> Vectors { try inner.embed(model: model, texts: texts) }
    func score(model: String, query: String, passages: [String]) throws -> [Float] {
        try inner.score(model: model, query: query, passages: passages)
    }
    func tokenCount(model: String, text: String) -> Int { inner.tokenCount(model: model, text: text) }
    func pairTokenCount(model: String, query: String, passage: String) -> Int { inner.pairTokenCount(model: model, query: query, passage: passage) }
    func embedServing(model: String, texts: [String], maxBatchTokens: Int) throws -> Vectors {
        try inner.embedServing(model: model, texts: texts, maxBatchTokens: maxBatchTokens)
    }
    func scoreServing(model: String, pairs: [(query: String, passage: String)], maxBatchTokens: Int) throws -> [Float] {
        try inner.scoreServing(model: model, pairs: pairs, maxBatchTokens: maxBatchTokens)
    }
    func embedPlan(model: String, texts: [String]) -> [[Int]] { inner.embedPlan(model: model, texts: texts) }
}

/// A load's result handed to the loop.
private struct UncheckedResult: @unchecked Sendable {
    let value: Result<LocalQueryEncoder, Error>
    init(_ v: Result<LocalQueryEncoder, Error>) { value = v }
}

/// A weak reference to the server for closures the gateway's types require to be Sendable; they
/// run only on the event loop's thread.
private struct UncheckedServer: @unchecked Sendable {
    weak var value: CoordinatorServer?
    init(_ s: CoordinatorServer) { value = s }
}
