// Swift mirrors of proto/strata.proto messages. Counts and indices are Int here, fixed-width on the wire.

/// A corpus document.
public struct Document: Equatable, Sendable {
    /// Document id (the corpus's `_id` or 1-based line number).
    public var id: String
    /// The text that is embedded (title and text joined, as `strata embed` reads it).
    public var text: String

    public init(id: String, text: String) {
        self.id = id
        self.text = text
    }
}

/// One search result: global corpus index, document id, score.
public struct Hit: Equatable, Sendable {
    /// Global index of the document in the corpus (its position).
    public var docIndex: Int
    /// The document's id.
    public var docID: String
    /// Inner-product (or cross-encoder) score.
    public var score: Float

    public init(docIndex: Int, docID: String, score: Float) {
        self.docIndex = docIndex
        self.docID = docID
        self.score = score
    }
}

/// A row-major float32 block [rows, dimension]; travels as little-endian bytes.
public struct Vectors: Equatable, Sendable {
    /// Number of vectors.
    public var rows: Int
    /// Length of each vector.
    public var dimension: Int
    /// The values, [rows, dimension] row-major.
    public var data: [Float]

    public init(rows: Int, dimension: Int, data: [Float]) {
        precondition(data.count == rows * dimension, "Vectors: \(data.count) values for [\(rows), \(dimension)]")
        self.rows = rows
        self.dimension = dimension
        self.data = data
    }
}

/// worker -> coordinator: a worker joins (or rejoins) the cluster.
public struct RegisterRequest: Equatable, Sendable {
    /// Stable per worker process (`host:pid:random` or `--id`).
    public var workerID: String
    /// `ProtocolConstants.protocolVersion` of the worker.
    public var protocolVersion: Int
    /// Shards whose store is already on the worker's disk.
    public var shardsHeld: [Int]

    public init(workerID: String, protocolVersion: Int, shardsHeld: [Int] = []) {
        self.workerID = workerID
        self.protocolVersion = protocolVersion
        self.shardsHeld = shardsHeld
    }
}

/// coordinator -> worker: registration accepted, with the heartbeat settings.
public struct RegisterReply: Equatable, Sendable {
    /// Heartbeat interval in milliseconds.
    public var heartbeatIntervalMs: Int
    /// Missed heartbeats before a peer counts as dead.
    public var heartbeatLiveness: Int

    public init(heartbeatIntervalMs: Int, heartbeatLiveness: Int) {
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.heartbeatLiveness = heartbeatLiveness
    }
}

/// Either way: a sign of life (no reply).
public struct Heartbeat: Equatable, Sendable {
    /// The sender ("coordinator" from the coordinator).
    public var workerID: String
    /// Increasing number (the coordinator sends its clock in ms).
    public var sequence: UInt64

    public init(workerID: String, sequence: UInt64) {
        self.workerID = workerID
        self.sequence = sequence
    }
}

/// coordinator -> worker: load a model directory under a name.
public struct LoadModelRequest: Equatable, Sendable {
    /// "de" or "ce" (the role in the cluster) or a job's model path.
    public var name: String
    /// Model directory as the worker sees it.
    public var path: String
    /// When set, embed with this layer's mean-pooled hidden states (a CE: its self-pair),
    /// L2-normalised, instead of the model's own embedding (one CE for both stages).
    public var embedLayer: Int?

    public init(name: String, path: String, embedLayer: Int? = nil) {
        self.name = name
        self.path = path
        self.embedLayer = embedLayer
    }
}

/// worker -> coordinator: the model is loaded.
public struct LoadModelReply: Equatable, Sendable {
    /// The name it was loaded under.
    public var name: String
    /// Embedding dimension.
    public var dimension: Int
    /// True for a cross encoder.
    public var crossEncoder: Bool

    public init(name: String, dimension: Int, crossEncoder: Bool) {
        self.name = name
        self.dimension = dimension
        self.crossEncoder = crossEncoder
    }
}

/// coordinator -> worker: index a contiguous shard of the corpus.
public struct AssignShardRequest: Equatable, Sendable {
    /// Shard id.
    public var shardID: Int
    /// Name of the loaded model that embeds it.
    public var model: String
    /// Global index of `documents[0]`.
    public var firstDocIndex: Int
    /// The shard's documents, in corpus order.
    public var documents: [Document]

    public init(shardID: Int, model: String, firstDocIndex: Int, documents: [Document]) {
        self.shardID = shardID
        self.model = model
        self.firstDocIndex = firstDocIndex
        self.documents = documents
    }
}

/// worker -> coordinator: the shard is indexed (or re-used from disk).
public struct AssignShardReply: Equatable, Sendable {
    /// Shard id.
    public var shardID: Int
    /// Documents indexed.
    public var count: Int
    /// Vector dimension.
    public var dimension: Int

    public init(shardID: Int, count: Int, dimension: Int) {
        self.shardID = shardID
        self.count = count
        self.dimension = dimension
    }
}

/// coordinator -> worker: forget a shard (its replica moved elsewhere).
public struct DropShardRequest: Equatable, Sendable {
    /// Shard id.
    public var shardID: Int

    public init(shardID: Int) {
        self.shardID = shardID
    }
}

/// worker -> coordinator: the shard is dropped.
public struct DropShardReply: Equatable, Sendable {
    /// Shard id.
    public var shardID: Int

    public init(shardID: Int) {
        self.shardID = shardID
    }
}

/// coordinator -> worker: embed texts (a search's query).
public struct EmbedBatchRequest: Equatable, Sendable {
    /// Name of the loaded model.
    public var model: String
    /// Texts to embed.
    public var texts: [String]

    public init(model: String, texts: [String]) {
        self.model = model
        self.texts = texts
    }
}

/// worker -> coordinator: the embeddings.
public struct EmbedBatchReply: Equatable, Sendable {
    /// [texts.count, dimension].
    public var vectors: Vectors

    public init(vectors: Vectors) {
        self.vectors = vectors
    }
}

/// coordinator -> worker: exact top-k of a query over one shard.
public struct SearchShardRequest: Equatable, Sendable {
    /// Shard id.
    public var shardID: Int
    /// Hits wanted.
    public var k: Int
    /// Query vector [dimension].
    public var query: [Float]

    public init(shardID: Int, k: Int, query: [Float]) {
        self.shardID = shardID
        self.k = k
        self.query = query
    }
}

/// worker -> coordinator: the shard's top-k.
public struct SearchShardReply: Equatable, Sendable {
    /// Shard id.
    public var shardID: Int
    /// Score descending, then global index ascending.
    public var hits: [Hit]

    public init(shardID: Int, hits: [Hit]) {
        self.shardID = shardID
        self.hits = hits
    }
}

/// coordinator -> worker: cross-encoder scores of (query, passage) pairs.
public struct RerankRequest: Equatable, Sendable {
    /// Name of the loaded cross encoder.
    public var model: String
    /// The query.
    public var query: String
    /// Candidates to score.
    public var passages: [Document]

    public init(model: String, query: String, passages: [Document]) {
        self.model = model
        self.query = query
        self.passages = passages
    }
}

/// worker -> coordinator: the scores.
public struct RerankReply: Equatable, Sendable {
    /// Aligned with the request's passages.
    public var scores: [Float]

    public init(scores: [Float]) {
        self.scores = scores
    }
}

/// coordinator -> worker: embed one chunk of a batch job.
public struct EmbedChunkRequest: Equatable, Sendable {
    /// Job id.
    public var jobID: String
    /// Chunk number in the job.
    public var chunkIndex: Int
    /// Name of the loaded model.
    public var model: String
    /// The chunk's texts, in corpus order.
    public var texts: [String]

    public init(jobID: String, chunkIndex: Int, model: String, texts: [String]) {
        self.jobID = jobID
        self.chunkIndex = chunkIndex
        self.model = model
        self.texts = texts
    }
}

/// worker -> coordinator: the chunk's embeddings.
public struct EmbedChunkReply: Equatable, Sendable {
    /// Job id.
    public var jobID: String
    /// Chunk number.
    public var chunkIndex: Int
    /// [texts.count, dimension].
    public var vectors: Vectors

    public init(jobID: String, chunkIndex: Int, vectors: Vectors) {
        self.jobID = jobID
        self.chunkIndex = chunkIndex
        self.vectors = vectors
    }
}

/// client -> coordinator: a search.
public struct SearchRequest: Equatable, Sendable {
    /// Query text.
    public var query: String
    /// Hits wanted.
    public var topK: Int
    /// Re-rank the first-stage candidates with the cross encoder.
    public var rerank: Bool
    /// Candidates re-ranked (0 = max(top_k, default depth)).
    public var rerankTop: Int

    public init(query: String, topK: Int, rerank: Bool = false, rerankTop: Int = 0) {
        self.query = query
        self.topK = topK
        self.rerank = rerank
        self.rerankTop = rerankTop
    }
}

/// coordinator -> client: the answer and its timings.
public struct SearchReply: Equatable, Sendable {
    /// Ranked hits.
    public var hits: [Hit]
    /// Some shard did not answer, or re-ranking failed.
    public var partial: Bool
    /// Shards without an answer.
    public var missingShards: [Int]
    /// Time to embed the query, ms.
    public var embedMs: Double
    /// Time for the shard searches and merge, ms.
    public var searchMs: Double
    /// Time to re-rank, ms.
    public var rerankMs: Double
    /// Time inside the coordinator, ms.
    public var totalMs: Double
    /// When re-ranked: each hit's first-stage (DE) score, aligned with `hits` (whose scores are the CE's); else empty.
    public var firstStageScores: [Float]

    public init(hits: [Hit], partial: Bool = false, missingShards: [Int] = [], embedMs: Double = 0, searchMs: Double = 0, rerankMs: Double = 0, totalMs: Double = 0,
                firstStageScores: [Float] = []) {
        self.firstStageScores = firstStageScores
        self.hits = hits
        self.partial = partial
        self.missingShards = missingShards
        self.embedMs = embedMs
        self.searchMs = searchMs
        self.rerankMs = rerankMs
        self.totalMs = totalMs
    }
}

/// client -> coordinator: start (or find) a batch embedding job.
public struct JobSubmitRequest: Equatable, Sendable {
    /// Corpus as the coordinator sees it (.txt or BEIR .jsonl).
    public var corpusPath: String
    /// Model directory as the workers see it.
    public var model: String
    /// Output directory.
    public var outDir: String
    /// Documents per chunk (0 = default).
    public var chunkSize: Int

    public init(corpusPath: String, model: String, outDir: String, chunkSize: Int = 0) {
        self.corpusPath = corpusPath
        self.model = model
        self.outDir = outDir
        self.chunkSize = chunkSize
    }
}

/// coordinator -> client: the job's id.
public struct JobSubmitReply: Equatable, Sendable {
    /// Job id (depends only on what the job is).
    public var jobID: String
    /// Number of chunks.
    public var chunks: Int

    public init(jobID: String, chunks: Int) {
        self.jobID = jobID
        self.chunks = chunks
    }
}

/// client -> coordinator: a job's progress.
public struct JobStatusRequest: Equatable, Sendable {
    /// Job id.
    public var jobID: String

    public init(jobID: String) {
        self.jobID = jobID
    }
}

/// coordinator -> client: a job's progress.
public struct JobStatusReply: Equatable, Sendable {
    /// Job id.
    public var jobID: String
    /// Chunks in the job.
    public var chunksTotal: Int
    /// Chunks written.
    public var chunksDone: Int
    /// Documents written.
    public var docsDone: Int
    /// Documents in the job.
    public var docsTotal: Int
    /// The output is complete.
    public var finished: Bool
    /// Estimated seconds left (-1 = unknown).
    public var etaSeconds: Double
    /// Why the job failed (empty when it did not).
    public var error: String

    public init(jobID: String, chunksTotal: Int, chunksDone: Int, docsDone: Int, docsTotal: Int, finished: Bool, etaSeconds: Double, error: String = "") {
        self.jobID = jobID
        self.chunksTotal = chunksTotal
        self.chunksDone = chunksDone
        self.docsDone = docsDone
        self.docsTotal = docsTotal
        self.finished = finished
        self.etaSeconds = etaSeconds
        self.error = error
    }
}

/// coordinator -> client: membership and readiness.
public struct ClusterStatusReply: Equatable, Sendable {
    /// Live workers.
    public var workersLive: Int
    /// Shards of the served corpus.
    public var shardsTotal: Int
    /// Shards with at least one live, indexed replica.
    public var shardsReady: Int
    /// Every shard is ready and a worker is up.
    public var ready: Bool
    /// Documents in the served corpus.
    public var docsTotal: Int
    /// Documents in shards with a ready replica.
    public var docsReady: Int
    /// Indexing rate so far, documents per second (0 = unknown).
    public var docsPerSecond: Double
    /// Seconds until every shard is ready (-1 = unknown, 0 = ready).
    public var etaSeconds: Double
    /// Each shard's indexing state.
    public var shards: [ShardProgress]

    public init(workersLive: Int, shardsTotal: Int, shardsReady: Int, ready: Bool, docsTotal: Int = 0, docsReady: Int = 0,
                docsPerSecond: Double = 0, etaSeconds: Double = 0, shards: [ShardProgress] = []) {
        self.workersLive = workersLive
        self.shardsTotal = shardsTotal
        self.shardsReady = shardsReady
        self.ready = ready
        self.docsTotal = docsTotal
        self.docsReady = docsReady
        self.docsPerSecond = docsPerSecond
        self.etaSeconds = etaSeconds
        self.shards = shards
    }
}

/// One shard's indexing state (in ClusterStatusReply).
public struct ShardProgress: Equatable, Sendable {
    public var shardID: Int
    /// Documents in the shard.
    public var documents: Int
    public var replicasReady: Int
    public var replicasWanted: Int
    /// Seconds since the oldest unfinished assignment of the shard was sent (0 = none).
    public var indexingSeconds: Double
    /// The worker's time on the last completed assignment, seconds (0 = none yet).
    public var doneSeconds: Double

    public init(shardID: Int, documents: Int, replicasReady: Int, replicasWanted: Int, indexingSeconds: Double = 0, doneSeconds: Double = 0) {
        self.shardID = shardID
        self.documents = documents
        self.replicasReady = replicasReady
        self.replicasWanted = replicasWanted
        self.indexingSeconds = indexingSeconds
        self.doneSeconds = doneSeconds
    }
}

/// client -> coordinator: stop a job; it is journaled failed and not resumed.
public struct JobCancelRequest: Equatable, Sendable {
    public var jobID: String

    public init(jobID: String) {
        self.jobID = jobID
    }
}

/// coordinator -> client: the job is stopped.
public struct JobCancelReply: Equatable, Sendable {
    public var jobID: String
    /// False when the job had already finished or failed (nothing changed).
    public var cancelled: Bool
    /// The job's error after the call.
    public var error: String

    public init(jobID: String, cancelled: Bool, error: String) {
        self.jobID = jobID
        self.cancelled = cancelled
        self.error = error
    }
}

/// client -> coordinator: embed texts with the served DE (HTTP /v1/embeddings, /embed, or ZeroMQ).
public struct EmbedTextsRequest: Equatable, Sendable {
    /// Texts to embed, in order.
    public var texts: [String]
    /// Cut texts over the model's max length instead of refusing them.
    public var truncate: Bool

    public init(texts: [String], truncate: Bool = false) {
        self.texts = texts
        self.truncate = truncate
    }
}

/// coordinator -> client: the embeddings and the tokens they took.
public struct EmbedTextsReply: Equatable, Sendable {
    /// [texts.count, dimension], the model's own embedding.
    public var vectors: Vectors
    /// Tokens embedded (after truncation), special tokens included.
    public var promptTokens: Int

    public init(vectors: Vectors, promptTokens: Int) {
        self.vectors = vectors
        self.promptTokens = promptTokens
    }
}

/// client -> coordinator: cross-encoder scores of (query, text) pairs (HTTP /rerank, or ZeroMQ).
public struct RerankTextsRequest: Equatable, Sendable {
    /// The query.
    public var query: String
    /// Texts to score against it.
    public var texts: [String]
    /// Cut pairs over the model's max length instead of refusing them.
    public var truncate: Bool

    public init(query: String, texts: [String], truncate: Bool = false) {
        self.query = query
        self.texts = texts
        self.truncate = truncate
    }
}

/// coordinator -> client: raw CE logits aligned with the texts.
public struct RerankTextsReply: Equatable, Sendable {
    /// Raw logits, aligned with the request's texts.
    public var scores: [Float]
    /// Tokens scored (after truncation), special tokens included.
    public var promptTokens: Int

    public init(scores: [Float], promptTokens: Int) {
        self.scores = scores
        self.promptTokens = promptTokens
    }
}

/// worker -> coordinator on SIGTERM: the worker is leaving; move its shards, send it nothing new.
public struct WorkerLeavingRequest: Equatable, Sendable {
    /// The leaving worker's id (as registered).
    public var workerID: String

    public init(workerID: String) {
        self.workerID = workerID
    }
}

/// coordinator -> worker: its shards are served elsewhere (or the drain timed out); it may exit.
public struct WorkerLeavingReply: Equatable, Sendable {
    /// Shards of the leaving worker now served by other replicas.
    public var shardsMoved: Int
    /// False when the drain timed out with shards left only on the worker.
    public var complete: Bool
    public var message: String

    public init(shardsMoved: Int, complete: Bool, message: String) {
        self.shardsMoved = shardsMoved
        self.complete = complete
        self.message = message
    }
}

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
    case jobCancelRequest(JobCancelRequest), jobCancelReply(JobCancelReply)
    case embedTextsRequest(EmbedTextsRequest), embedTextsReply(EmbedTextsReply)
    case rerankTextsRequest(RerankTextsRequest), rerankTextsReply(RerankTextsReply)
    case workerLeavingRequest(WorkerLeavingRequest), workerLeavingReply(WorkerLeavingReply)
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
    /// The coordinator run a request comes from (0 = none); a worker's reply echoes it, and the
    /// coordinator drops replies to another run's requests (request ids restart with each run).
    public var incarnation: UInt64
    public init(requestID: UInt64, deadlineUnixMs: Int64 = 0, status: RPCStatus? = nil, body: Body, incarnation: UInt64 = 0) {
        self.requestID = requestID; self.deadlineUnixMs = deadlineUnixMs; self.status = status; self.body = body
        self.incarnation = incarnation
    }
}
