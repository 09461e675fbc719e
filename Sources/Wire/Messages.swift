// Swift mirrors of proto/strata.proto messages. Counts and indices are Int here, fixed-width on the wire.

/// A corpus document.
public struct Document: Equatable, Sendable { public var id: String; public var text: String
    public init(id: String, text: String) { self.id = id; self.text = text } }

/// One search result: global corpus index, document id, score.
public struct Hit: Equatable, Sendable { public var docIndex: Int; public var docID: String; public var score: Float
    public init(docIndex: Int, docID: String, score: Float) { self.docIndex = docIndex; self.docID = docID; self.score = score } }

/// A row-major float32 block [rows, dimension]; travels as little-endian bytes.
public struct Vectors: Equatable, Sendable {
    public var rows: Int; public var dimension: Int; public var data: [Float]
    public init(rows: Int, dimension: Int, data: [Float]) {
        precondition(data.count == rows * dimension, "Vectors: \(data.count) values for [\(rows), \(dimension)]")
        self.rows = rows; self.dimension = dimension; self.data = data
    }
}

public struct RegisterRequest: Equatable, Sendable { public var workerID: String; public var protocolVersion: Int; public var shardsHeld: [Int]
    public init(workerID: String, protocolVersion: Int, shardsHeld: [Int] = []) { self.workerID = workerID; self.protocolVersion = protocolVersion; self.shardsHeld = shardsHeld } }
public struct RegisterReply: Equatable, Sendable { public var heartbeatIntervalMs: Int; public var heartbeatLiveness: Int
    public init(heartbeatIntervalMs: Int, heartbeatLiveness: Int) { self.heartbeatIntervalMs = heartbeatIntervalMs; self.heartbeatLiveness = heartbeatLiveness } }
public struct Heartbeat: Equatable, Sendable { public var workerID: String; public var sequence: UInt64
    public init(workerID: String, sequence: UInt64) { self.workerID = workerID; self.sequence = sequence } }
public struct LoadModelRequest: Equatable, Sendable { public var name: String; public var path: String
    public init(name: String, path: String) { self.name = name; self.path = path } }
public struct LoadModelReply: Equatable, Sendable { public var name: String; public var dimension: Int; public var crossEncoder: Bool
    public init(name: String, dimension: Int, crossEncoder: Bool) { self.name = name; self.dimension = dimension; self.crossEncoder = crossEncoder } }
public struct AssignShardRequest: Equatable, Sendable { public var shardID: Int; public var model: String; public var firstDocIndex: Int; public var documents: [Document]
    public init(shardID: Int, model: String, firstDocIndex: Int, documents: [Document]) { self.shardID = shardID; self.model = model; self.firstDocIndex = firstDocIndex; self.documents = documents } }
public struct AssignShardReply: Equatable, Sendable { public var shardID: Int; public var count: Int; public var dimension: Int
    public init(shardID: Int, count: Int, dimension: Int) { self.shardID = shardID; self.count = count; self.dimension = dimension } }
public struct DropShardRequest: Equatable, Sendable { public var shardID: Int; public init(shardID: Int) { self.shardID = shardID } }
public struct DropShardReply: Equatable, Sendable { public var shardID: Int; public init(shardID: Int) { self.shardID = shardID } }
public struct EmbedBatchRequest: Equatable, Sendable { public var model: String; public var texts: [String]
    public init(model: String, texts: [String]) { self.model = model; self.texts = texts } }
public struct EmbedBatchReply: Equatable, Sendable { public var vectors: Vectors; public init(vectors: Vectors) { self.vectors = vectors } }
public struct SearchShardRequest: Equatable, Sendable { public var shardID: Int; public var k: Int; public var query: [Float]
    public init(shardID: Int, k: Int, query: [Float]) { self.shardID = shardID; self.k = k; self.query = query } }
public struct SearchShardReply: Equatable, Sendable { public var shardID: Int; public var hits: [Hit]
    public init(shardID: Int, hits: [Hit]) { self.shardID = shardID; self.hits = hits } }
public struct RerankRequest: Equatable, Sendable { public var model: String; public var query: String; public var passages: [Document]
    public init(model: String, query: String, passages: [Document]) { self.model = model; self.query = query; self.passages = passages } }
public struct RerankReply: Equatable, Sendable { public var scores: [Float]; public init(scores: [Float]) { self.scores = scores } }
public struct EmbedChunkRequest: Equatable, Sendable { public var jobID: String; public var chunkIndex: Int; public var model: String; public var texts: [String]
    public init(jobID: String, chunkIndex: Int, model: String, texts: [String]) { self.jobID = jobID; self.chunkIndex = chunkIndex; self.model = model; self.texts = texts } }
public struct EmbedChunkReply: Equatable, Sendable { public var jobID: String; public var chunkIndex: Int; public var vectors: Vectors
    public init(jobID: String, chunkIndex: Int, vectors: Vectors) { self.jobID = jobID; self.chunkIndex = chunkIndex; self.vectors = vectors } }
public struct SearchRequest: Equatable, Sendable { public var query: String; public var topK: Int; public var rerank: Bool; public var rerankTop: Int
    public init(query: String, topK: Int, rerank: Bool = false, rerankTop: Int = 0) { self.query = query; self.topK = topK; self.rerank = rerank; self.rerankTop = rerankTop } }
public struct SearchReply: Equatable, Sendable {
    public var hits: [Hit]; public var partial: Bool; public var missingShards: [Int]
    public var embedMs: Double; public var searchMs: Double; public var rerankMs: Double; public var totalMs: Double
    public init(hits: [Hit], partial: Bool = false, missingShards: [Int] = [], embedMs: Double = 0, searchMs: Double = 0, rerankMs: Double = 0, totalMs: Double = 0) {
        self.hits = hits; self.partial = partial; self.missingShards = missingShards
        self.embedMs = embedMs; self.searchMs = searchMs; self.rerankMs = rerankMs; self.totalMs = totalMs
    }
}
public struct JobSubmitRequest: Equatable, Sendable { public var corpusPath: String; public var model: String; public var outDir: String; public var chunkSize: Int
    public init(corpusPath: String, model: String, outDir: String, chunkSize: Int = 0) { self.corpusPath = corpusPath; self.model = model; self.outDir = outDir; self.chunkSize = chunkSize } }
public struct JobSubmitReply: Equatable, Sendable { public var jobID: String; public var chunks: Int
    public init(jobID: String, chunks: Int) { self.jobID = jobID; self.chunks = chunks } }
public struct JobStatusRequest: Equatable, Sendable { public var jobID: String; public init(jobID: String) { self.jobID = jobID } }
public struct JobStatusReply: Equatable, Sendable {
    public var jobID: String; public var chunksTotal: Int; public var chunksDone: Int; public var docsDone: Int; public var docsTotal: Int
    public var finished: Bool; public var etaSeconds: Double; public var error: String
    public init(jobID: String, chunksTotal: Int, chunksDone: Int, docsDone: Int, docsTotal: Int, finished: Bool, etaSeconds: Double, error: String = "") {
        self.jobID = jobID; self.chunksTotal = chunksTotal; self.chunksDone = chunksDone; self.docsDone = docsDone
        self.docsTotal = docsTotal; self.finished = finished; self.etaSeconds = etaSeconds; self.error = error
    }
}
public struct ClusterStatusReply: Equatable, Sendable { public var workersLive: Int; public var shardsTotal: Int; public var shardsReady: Int; public var ready: Bool
    public init(workersLive: Int, shardsTotal: Int, shardsReady: Int, ready: Bool) { self.workersLive = workersLive; self.shardsTotal = shardsTotal; self.shardsReady = shardsReady; self.ready = ready } }

/// The body of an envelope: exactly one message.
public enum Body: Equatable, Sendable {
    case registerRequest(RegisterRequest), registerReply(RegisterReply), heartbeat(Heartbeat)
    case loadModelRequest(LoadModelRequest), loadModelReply(LoadModelReply)
    case assignShardRequest(AssignShardRequest), assignShardReply(AssignShardReply)
    case dropShardRequest(DropShardRequest), dropShardReply(DropShardReply)
    case embedBatchRequest(EmbedBatchRequest), embedBatchReply(EmbedBatchReply)
    case searchShardRequest(SearchShardRequest), searchShardReply(SearchShardReply)
    case rerankRequest(RerankRequest), rerankReply(RerankReply)
    case embedChunkRequest(EmbedChunkRequest), embedChunkReply(EmbedChunkReply)
    case searchRequest(SearchRequest), searchReply(SearchReply)
    case jobSubmitRequest(JobSubmitRequest), jobSubmitReply(JobSubmitReply)
    case jobStatusRequest(JobStatusRequest), jobStatusReply(JobStatusReply)
    case clusterStatusRequest, clusterStatusReply(ClusterStatusReply)
    /// A reply that only reports a failure.
    case error(RPCStatus)
}

/// The only top-level wire message: request id, deadline, status (replies) and one body.
public struct Envelope: Equatable, Sendable {
    public var requestID: UInt64
    /// Milliseconds since 1970 after which the request is useless (0 = none).
    public var deadlineUnixMs: Int64
    /// Set on replies.
    public var status: RPCStatus?
    public var body: Body
    public init(requestID: UInt64, deadlineUnixMs: Int64 = 0, status: RPCStatus? = nil, body: Body) {
        self.requestID = requestID; self.deadlineUnixMs = deadlineUnixMs; self.status = status; self.body = body
    }
}
