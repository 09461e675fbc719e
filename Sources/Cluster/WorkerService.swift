import Foundation
import Wire

/// A worker's request handling: models, shard stores, and the replies to EmbedBatch,
/// SearchShard, Rerank, EmbedChunk, AssignShard, DropShard and LoadModel. No sockets: the
/// shell hands it decoded envelopes and sends back what it returns. Every request is
/// idempotent (assigning a shard already held with the same documents re-uses its store).
public final class WorkerService {
    public let engine: InferenceEngine
    public let dataDir: URL
    public private(set) var stores: [Int: VectorStore] = [:]
    var models: [String: (dimension: Int, crossEncoder: Bool)] = [:]
    /// `StoreFingerprint.model` of each loaded model's directory.
    var fingerprints: [String: UInt32] = [:]
    /// The frame limit the worker's replies must fit (ZMQ_MAXMSGSIZE of the coordinator).
    public var maxFrameBytes = ProtocolConstants.maxFrameBytes
    /// Largest k a shard search returns.
    public static let maxK = 10_000

    public init(engine: InferenceEngine, dataDir: URL) {
        self.engine = engine
        self.dataDir = dataDir
    }

    /// Shards whose store is on disk and verifies (reported when registering).
    public func shardsOnDisk() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dataDir.path)) ?? []
        return names.compactMap { n -> Int? in
            guard n.hasPrefix("shard-"), n.hasSuffix(".vec") else { return nil }
            return Int(n.dropFirst(6).dropLast(4))
        }.sorted()
    }

    /// The reply to `request`, or nil for messages that need none (heartbeats).
    public func handle(_ request: Envelope, now: Double) -> Envelope? {
        func ok(_ b: Body) -> Envelope { Envelope(requestID: request.requestID, status: .ok, body: b) }
        func err(_ s: RPCStatus) -> Envelope { Envelope(requestID: request.requestID, status: s, body: .error(s)) }
        if request.deadlineUnixMs > 0 && Double(request.deadlineUnixMs) / 1000 < now {
            return err(RPCStatus(.deadlineExceeded, "request \(request.requestID) arrived after its deadline"))
        }
        do {
            switch request.body {
            case .heartbeat, .registerReply, .error:
                return nil
            case .loadModelRequest(let m):
                let info = try load(m.name, m.path)
                return ok(.loadModelReply(LoadModelReply(name: m.name, dimension: info.dimension, crossEncoder: info.crossEncoder)))
            case .assignShardRequest(let m):
                let store = try assign(m)
                return ok(.assignShardReply(AssignShardReply(shardID: m.shardID, count: store.count, dimension: store.dimension)))
            case .dropShardRequest(let m):
                stores[m.shardID] = nil
                for ext in ["vec", "ids"] { try? FileManager.default.removeItem(at: dataDir.appendingPathComponent("shard-\(m.shardID).\(ext)")) }
                return ok(.dropShardReply(DropShardReply(shardID: m.shardID)))
            case .embedBatchRequest(let m):
                try requireModel(m.model)
                return ok(.embedBatchReply(EmbedBatchReply(vectors: try engine.embed(model: m.model, texts: m.texts))))
            case .searchShardRequest(let m):
                guard let store = stores[m.shardID] else { throw EngineError(.notFound, "shard \(m.shardID) is not held by this worker") }
                guard m.query.count == store.dimension else {
                    throw EngineError(.invalidArgument, "query has \(m.query.count) dimensions, shard \(m.shardID) has \(store.dimension)")
                }
                guard m.k >= 1, m.k <= Self.maxK else { throw EngineError(.invalidArgument, "k = \(m.k) is not in 1...\(Self.maxK)") }
                return ok(.searchShardReply(SearchShardReply(shardID: m.shardID, hits: store.search(m.query, k: m.k))))
            case .rerankRequest(let m):
                try requireModel(m.model, crossEncoder: true)
                let scores = try engine.score(model: m.model, query: m.query, passages: m.passages.map(\.text))
                return ok(.rerankReply(RerankReply(scores: scores)))
            case .embedChunkRequest(let m):
                try requireModel(m.model)
                // The reply must fit one frame: refuse before embedding (the coordinator fails the job).
                let replyBytes = m.texts.count * models[m.model]!.dimension * 4
                if replyBytes + Coordinator.frameMargin > maxFrameBytes {
                    throw EngineError(.resourceExhausted, "\(m.texts.count) vectors of dimension \(models[m.model]!.dimension) are \(replyBytes) bytes, "
                                      + "over the frame limit (\(maxFrameBytes) bytes less \(Coordinator.frameMargin)): use a smaller --chunk-size")
                }
                let v = try engine.embed(model: m.model, texts: m.texts)
                return ok(.embedChunkReply(EmbedChunkReply(jobID: m.jobID, chunkIndex: m.chunkIndex, vectors: v)))
            default:
                throw EngineError(.unimplemented, "a worker does not serve \(request.body)")
            }
        } catch let e as EngineError {
            return err(RPCStatus(e.code, e.message))
        } catch {
            return err(RPCStatus(.internalError, "\(error)"))
        }
    }

    func requireModel(_ name: String, crossEncoder: Bool = false) throws {
        guard let m = models[name] else { throw EngineError(.failedPrecondition, "model '\(name)' is not loaded on this worker") }
        if crossEncoder && !m.crossEncoder { throw EngineError(.failedPrecondition, "model '\(name)' is not a cross encoder") }
    }

    func load(_ name: String, _ path: String) throws -> (dimension: Int, crossEncoder: Bool) {
        if let m = models[name] { return m }
        do {
            let info = try engine.loadModel(name: name, path: path)
            models[name] = info
            fingerprints[name] = StoreFingerprint.model(path: path)
            return info
        } catch let e as EngineError { throw e } catch {
            throw EngineError(.notFound, "cannot load model \(path): \(error)")
        }
    }

    func assign(_ m: AssignShardRequest) throws -> VectorStore {
        try requireModel(m.model)
        let name = "shard-\(m.shardID)"
        let ids = m.documents.map(\.id)
        let texts = m.documents.map(\.text)
        let modelFP = fingerprints[m.model] ?? 0, textsCRC = StoreFingerprint.texts(texts)
        // Re-use a store only when it holds these documents (ids, position, texts) embedded by this model.
        if let s = stores[m.shardID] ?? (try? VectorStore(directory: dataDir, name: name)),
           s.ids == ids, s.firstDocIndex == m.firstDocIndex, s.dimension == models[m.model]!.dimension,
           s.modelFingerprint == modelFP, s.textsChecksum == textsCRC {
            stores[m.shardID] = s
            return s
        }
        if ids.contains(where: { $0.contains("\n") }) { throw EngineError(.invalidArgument, "a document id holds a newline") }
        let v = try engine.embed(model: m.model, texts: texts)
        stores[m.shardID] = nil
        try VectorStore.write(directory: dataDir, name: name, vectors: v, firstDocIndex: m.firstDocIndex, ids: ids,
                              modelFingerprint: modelFP, textsChecksum: textsCRC)
        let s = try VectorStore(directory: dataDir, name: name)
        stores[m.shardID] = s
        return s
    }
}
