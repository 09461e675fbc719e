import Foundation
import Formats
import Wire

/// A worker's request handling: models, shard stores, and the replies to EmbedBatch,
/// SearchShard, Rerank, EmbedChunk, AssignShard, DropShard and LoadModel. No sockets: the
/// shell hands it decoded envelopes (through `WorkerScheduler`, which orders and gathers them)
/// and sends back what it returns. Every request is idempotent (assigning a shard already held
/// with the same documents re-uses its store). One compute thread calls it, except that
/// SearchShard (`respond`) may run on another thread at the same time (the stores are locked).
public final class WorkerService {
    public let engine: InferenceEngine
    public let dataDir: URL
    /// Shard stores by shard id. Written only by the compute thread; read also by the search
    /// thread (SearchShard needs no model and does not wait behind the compute thread), so every
    /// access holds `storeLock`.
    public private(set) var stores: [Int: VectorStore] {
        get { storeLock.lock(); defer { storeLock.unlock() }; return storeTable }
        set { storeLock.lock(); storeTable = newValue; storeLock.unlock() }
    }
    private var storeTable: [Int: VectorStore] = [:]
    private let storeLock = NSLock()
    var models: [String: (dimension: Int, crossEncoder: Bool)] = [:]
    /// `StoreFingerprint.model` of each loaded model's directory.
    var fingerprints: [String: UInt32] = [:]
    /// The frame limit the worker's replies must fit (ZMQ_MAXMSGSIZE of the coordinator).
    public var maxFrameBytes = ProtocolConstants.maxFrameBytes
    /// Token budget of one serving forward pass (gathered query embeddings or re-rank pairs), and
    /// the size of the slices a long embed or re-rank request advances by (`--max-batch-tokens`).
    public var maxBatchTokens = 16_384
    /// Nice value of the compute thread and of the Dispatch threads its forward passes use (0:
    /// unchanged; `strata worker --compute-nice`): shard searches, on their own thread, and the
    /// coordinator's query embedding then go before a job's batches on a shared machine.
    public var computeNice: Int32 = 0
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

    /// The reply to `request`, or nil for messages that need none (heartbeats): the request run
    /// alone to the end, slice by slice, its deadline checked against `now` (the caller's clock,
    /// simulated in tests). The worker's shell uses `WorkerScheduler` instead, which interleaves
    /// and gathers requests and checks deadlines against the wall clock between slices.
    public func handle(_ request: Envelope, now: Double) -> Envelope? {
        guard let item = WorkItem(request) else { return nil }
        if item.expired(now) { return item.deadlineExceeded("before it was started") }
        if item.kind == .single { return respond(item) }
        if let r = prepare(item) { return r }
        while !item.done {
            if item.expired(now) { return item.deadlineExceeded("after \(item.next) of \(item.texts.count) texts") }
            do {
                if item.kind == .planned { try step(planned: item) } else { try run(gathered: [(item, item.slice(budget: maxBatchTokens))]) }
            } catch { return item.fail(error) }
        }
        return finish(item)
    }

    /// The reply to a one-step request (shard search, model load, shard drop, anything unknown).
    func respond(_ item: WorkItem) -> Envelope {
        do {
            switch item.request.body {
            case .loadModelRequest(let m):
                let info = try load(m.name, m.path, embedLayer: m.embedLayer)
                return item.ok(.loadModelReply(LoadModelReply(name: m.name, dimension: info.dimension, crossEncoder: info.crossEncoder)))
            case .dropShardRequest(let m):
                stores[m.shardID] = nil
                for ext in ["vec", "ids"] { try? FileManager.default.removeItem(at: dataDir.appendingPathComponent("shard-\(m.shardID).\(ext)")) }
                return item.ok(.dropShardReply(DropShardReply(shardID: m.shardID)))
            case .searchShardRequest(let m):
                guard let store = stores[m.shardID] else { throw EngineError(.notFound, "shard \(m.shardID) is not held by this worker") }
                guard m.query.count == store.dimension else {
                    throw EngineError(.invalidArgument, "query has \(m.query.count) dimensions, shard \(m.shardID) has \(store.dimension)")
                }
                guard m.k >= 1, m.k <= Self.maxK else { throw EngineError(.invalidArgument, "k = \(m.k) is not in 1...\(Self.maxK)") }
                return item.ok(.searchShardReply(SearchShardReply(shardID: m.shardID, hits: store.search(m.query, k: m.k))))
            default:
                throw EngineError(.unimplemented, "a worker does not serve \(item.request.body)")
            }
        } catch {
            return item.fail(error)
        }
    }

    /// Checks a sliced or planned request before its first step and measures it (token counts, or
    /// the engine's batch plan). Returns the reply when the request is already answered: refused,
    /// or a shard store that can be re-used.
    func prepare(_ item: WorkItem) -> Envelope? {
        do {
            switch item.kind {
            case .single:
                return respond(item)
            case .embed:
                try requireModel(item.model)
                item.dimension = models[item.model]!.dimension
                item.tokens = item.texts.map { engine.tokenCount(model: item.model, text: $0) }
            case .rerank:
                try requireModel(item.model, crossEncoder: true)
                item.tokens = item.texts.map { engine.pairTokenCount(model: item.model, query: item.query, passage: $0) }
            case .planned:
                try requireModel(item.model)
                let dim = models[item.model]!.dimension
                if case .embedChunkRequest(let m) = item.request.body {
                    // The reply must fit one frame: refuse before embedding (the coordinator fails the job).
                    let replyBytes = m.texts.count * dim * 4
                    if replyBytes + Coordinator.frameMargin > maxFrameBytes {
                        throw EngineError(.resourceExhausted, "\(m.texts.count) vectors of dimension \(dim) are \(replyBytes) bytes, "
                                          + "over the frame limit (\(maxFrameBytes) bytes less \(Coordinator.frameMargin)): use a smaller --chunk-size")
                    }
                }
                if case .assignShardRequest(let m) = item.request.body {
                    if let s = reusableStore(m) { return item.ok(.assignShardReply(AssignShardReply(shardID: m.shardID, count: s.count, dimension: s.dimension))) }
                    if m.documents.contains(where: { $0.id.contains("\n") }) { throw EngineError(.invalidArgument, "a document id holds a newline") }
                }
                item.dimension = dim
                item.rows = [Float](repeating: 0, count: item.texts.count * dim)
                item.plan = engine.embedPlan(model: item.model, texts: item.texts)
            }
            return nil
        } catch {
            return item.fail(error)
        }
    }

    /// One forward pass over slices of several embed (or several re-rank) requests of one model:
    /// their texts (pairs) in one engine call, the results handed back to each request in order.
    func run(gathered slices: [(item: WorkItem, range: Range<Int>)]) throws {
        guard let first = slices.first?.item else { return }
        if first.kind == .embed {
            let texts = slices.flatMap { $0.item.texts[$0.range] }
            let v = try engine.embedServing(model: first.model, texts: texts, maxBatchTokens: maxBatchTokens)
            guard v.rows == texts.count, v.dimension == first.dimension else {
                throw EngineError(.internalError, "the engine returned [\(v.rows), \(v.dimension)] for \(texts.count) texts of dimension \(first.dimension)")
            }
            var row = 0
            for (item, range) in slices {
                item.values += v.data[(row * v.dimension)..<((row + range.count) * v.dimension)]
                item.next = range.upperBound
                row += range.count
            }
        } else {
            let pairs = slices.flatMap { s in s.item.texts[s.range].map { (query: s.item.query, passage: $0) } }
            let scores = try engine.scoreServing(model: first.model, pairs: pairs, maxBatchTokens: maxBatchTokens)
            guard scores.count == pairs.count else { throw EngineError(.internalError, "the engine returned \(scores.count) scores for \(pairs.count) pairs") }
            var at = 0
            for (item, range) in slices {
                item.values += scores[at..<(at + range.count)]
                item.next = range.upperBound
                at += range.count
            }
        }
    }

    /// One batch of a planned request's plan: byte-identical to embedding all its texts at once.
    func step(planned item: WorkItem) throws {
        guard let plan = item.plan, item.planNext < plan.count else { return }
        let group = plan[item.planNext]
        let v = try engine.embed(model: item.model, texts: group.map { item.texts[$0] })
        guard v.rows == group.count, v.dimension == item.dimension else {
            throw EngineError(.internalError, "the engine returned [\(v.rows), \(v.dimension)] for \(group.count) texts of dimension \(item.dimension)")
        }
        for (r, i) in group.enumerated() {
            item.rows.replaceSubrange((i * v.dimension)..<((i + 1) * v.dimension), with: v.data[(r * v.dimension)..<((r + 1) * v.dimension)])
        }
        item.planNext += 1
    }

    /// The reply of a sliced or planned request whose every step is done.
    func finish(_ item: WorkItem) -> Envelope {
        do {
            switch item.request.body {
            case .embedBatchRequest:
                return item.ok(.embedBatchReply(EmbedBatchReply(vectors: Vectors(rows: item.texts.count, dimension: item.dimension, data: item.values))))
            case .rerankRequest:
                return item.ok(.rerankReply(RerankReply(scores: item.values)))
            case .embedChunkRequest(let m):
                let v = Vectors(rows: item.texts.count, dimension: item.dimension, data: item.rows)
                return item.ok(.embedChunkReply(EmbedChunkReply(jobID: m.jobID, chunkIndex: m.chunkIndex, vectors: v)))
            case .assignShardRequest(let m):
                let store = try writeStore(m, Vectors(rows: item.texts.count, dimension: item.dimension, data: item.rows))
                return item.ok(.assignShardReply(AssignShardReply(shardID: m.shardID, count: store.count, dimension: store.dimension)))
            default:
                return respond(item)
            }
        } catch {
            return item.fail(error)
        }
    }

    func requireModel(_ name: String, crossEncoder: Bool = false) throws {
        guard let m = models[name] else { throw EngineError(.failedPrecondition, "model '\(name)' is not loaded on this worker") }
        if crossEncoder && !m.crossEncoder { throw EngineError(.failedPrecondition, "model '\(name)' is not a cross encoder") }
    }

    func load(_ name: String, _ path: String, embedLayer: Int? = nil) throws -> (dimension: Int, crossEncoder: Bool) {
        if let m = models[name] { return m }
        do {
            let info = try engine.loadModel(name: name, path: path, embedLayer: embedLayer)
            models[name] = info
            // A store embedded with a layer, or in another precision, is not the model's own fp32
            // embedding: another fingerprint (fp32 adds nothing, so stores written before keep theirs).
            let precision = engine.precisionName
            fingerprints[name] = StoreFingerprint.model(path: path) ^ (embedLayer.map { CRC32.checksum(Array("layer \($0)".utf8)) } ?? 0)
                ^ (precision == "fp32" ? 0 : CRC32.checksum(Array("precision \(precision)".utf8)))
            return info
        } catch let e as EngineError { throw e } catch {
            throw EngineError(.notFound, "cannot load model \(path): \(error)")
        }
    }

    /// The store of shard `m` when the worker holds these documents (ids, position, texts)
    /// embedded by this model, on disk or in memory.
    func reusableStore(_ m: AssignShardRequest) -> VectorStore? {
        let ids = m.documents.map(\.id)
        let modelFP = fingerprints[m.model] ?? 0, textsCRC = StoreFingerprint.texts(m.documents.map(\.text))
        guard let s = stores[m.shardID] ?? (try? VectorStore(directory: dataDir, name: "shard-\(m.shardID)")),
              s.ids == ids, s.firstDocIndex == m.firstDocIndex, s.dimension == models[m.model]?.dimension,
              s.modelFingerprint == modelFP, s.textsChecksum == textsCRC else { return nil }
        stores[m.shardID] = s
        return s
    }

    /// Writes shard `m`'s store from its embedded texts and serves it.
    func writeStore(_ m: AssignShardRequest, _ v: Vectors) throws -> VectorStore {
        let name = "shard-\(m.shardID)"
        stores[m.shardID] = nil
        try VectorStore.write(directory: dataDir, name: name, vectors: v, firstDocIndex: m.firstDocIndex, ids: m.documents.map(\.id),
                              modelFingerprint: fingerprints[m.model] ?? 0, textsChecksum: StoreFingerprint.texts(m.documents.map(\.text)))
        let s = try VectorStore(directory: dataDir, name: name)
        stores[m.shardID] = s
        return s
    }
}
