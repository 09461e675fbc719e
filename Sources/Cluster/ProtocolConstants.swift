/// Every protocol constant of the Strata cluster, in one place (cluster/README.md explains them).
public enum ProtocolConstants {
    /// Wire protocol version sent in RegisterRequest; a coordinator refuses other versions.
    public static let protocolVersion = 1
    /// Heartbeat interval (Paranoid Pirate HEARTBEAT_INTERVAL), seconds.
    public static let heartbeatInterval = 1.0
    /// Heartbeats missed before a peer is declared dead (HEARTBEAT_LIVENESS).
    public static let heartbeatLiveness = 3
    /// Worker reconnect back-off: first delay and cap, seconds (doubling between).
    public static let reconnectInitial = 1.0
    public static let reconnectMax = 32.0
    /// Largest frame any cluster socket accepts (ZMQ_MAXMSGSIZE); bigger peers are disconnected.
    public static let maxFrameBytes = 64 << 20
    /// Default deadline of a client search, seconds.
    public static let searchDeadline = 10.0
    /// Documents per batch-job chunk: the same fixed chunk `strata embed` embeds at a time
    /// (EmbedCommand.chunkSize), so each chunk is batched exactly as in a single-process run and
    /// the job output is byte-identical to it (see cluster/README.md).
    public static let jobChunkSize = 4096
    /// A chunk lease expires after this many seconds without a reply (the worker is then presumed stuck).
    public static let chunkLease = 600.0
    /// Deadlines of the coordinator's requests to workers, seconds: a request unanswered by then
    /// takes the failure path (as if the worker had answered with an error). Loading a model:
    public static let loadModelTimeout = 300.0
    /// Indexing a shard: a base plus a time per document (2 documents/s at the least).
    public static let assignShardTimeout = 300.0
    public static let assignShardTimeoutPerDocument = 0.5
    /// Dropping a shard.
    public static let dropShardTimeout = 60.0
    /// Chunks a worker holds at once.
    public static let chunksPerWorker = 1
    /// Default number of shards of a served corpus (per worker started by `cluster up`).
    public static let defaultShardsPerWorker = 2
    /// How often the coordinator's shell wakes when idle (tick), seconds.
    public static let tickInterval = 0.05
    /// Default rerank depth when --rerank is asked without a depth.
    public static let defaultRerankTop = 50
    /// Default caps on a search (`--max-top-k`, `--max-rerank`): past them a SearchRequest is
    /// refused INVALID_ARGUMENT, so one request cannot hold the workers for long.
    public static let defaultMaxTopK = 1000
    public static let defaultMaxRerank = 200
    /// The largest caps a coordinator may be configured with (the worker's own limit on k).
    public static let maxTopKLimit = 10_000
    /// Per-try budget of a query embedding or shard search, seconds: a request unanswered by then
    /// is sent again to another ready replica not yet tried, within the same search deadline (the
    /// first answer wins).
    public static let searchTryBudget = 1.0
    /// A worker whose connection dropped (ZMQ socket monitor) is suspect at once: no new work goes to
    /// it, its search requests are retried elsewhere, and it is declared dead after this many seconds
    /// of silence (a worker that reconnects and speaks again is cleared).
    public static let suspectGrace = 2.0
    /// Retries of a coordinator request that failed: the first after `retryInitial` seconds, doubling
    /// up to `retryMax`; LoadModel is tried `loadModelMaxAttempts` times per worker and model (a job
    /// fails when its model failed that often on every live worker), AssignShard
    /// `assignShardMaxAttempts` times per shard (again after a new worker registers), a job chunk
    /// `chunkMaxFailures` times (then the job fails).
    public static let retryInitial = 1.0
    public static let retryMax = 30.0
    public static let loadModelMaxAttempts = 3
    public static let assignShardMaxAttempts = 5
    public static let chunkMaxFailures = 5
    /// Longest log line, bytes: a longer one is cut there with a note of its full length.
    public static let maxLogLineBytes = 4096
    /// Longest job error kept (status replies, journal), bytes.
    public static let maxJobErrorBytes = 2048
    /// Longest deadline a client may ask for (search, embed, rerank), seconds: a later one is cut
    /// to this.
    public static let maxClientDeadline = 600.0
    /// Longest a worker's drain may take at the coordinator before it replies anyway, seconds
    /// (below the worker's own `workerDrainTimeout`).
    public static let coordinatorDrainTimeout = 100.0
    /// Shortest time between two hand-over plans of one drain, seconds (an assignment that failed
    /// is planned again no sooner).
    public static let drainReplanInterval = 1.0
    /// Default of the worker's `--drain-timeout`: after this many seconds of leaving it exits
    /// whatever the coordinator said, seconds.
    public static let workerDrainTimeout = 120.0
    /// Bytes an EmbedChunk frame may hold beyond its texts or vectors (envelope, ids, model name):
    /// a chunk must fit `maxFrameBytes` less this.
    public static let chunkFrameMargin = 1 << 20
    /// Bytes a text costs in a frame beyond its own: a 1-byte tag and a length varint of up to 5 bytes.
    public static let frameTextOverhead = 6
    /// How long the worker's loop waits for traffic per turn, seconds: normally, and while it is
    /// leaving (it then checks for the end of its drain more often).
    public static let workerPollInterval = 0.1
    public static let workerLeavingPollInterval = 0.02
    /// Granularity of the worker's wait before reconnecting (it checks for stop this often), seconds.
    public static let workerReconnectSleep = 0.05
    /// Default time a `ClusterClient` call waits for its reply, seconds, and how often it wakes
    /// meanwhile.
    public static let clientCallTimeout = 30.0
    public static let clientPollInterval = 0.2
    /// Default caps on client calls (`ServingLimits`): texts in one embed or rerank request
    /// (TEI's `--max-client-batch-size`), and client requests in flight at once (past it
    /// RESOURCE_EXHAUSTED, HTTP 429).
    public static let defaultMaxClientBatch = 64
    public static let defaultMaxConcurrentRequests = 256
    /// Model fingerprints (`ModelFingerprint`): the largest safetensors header hashed whole, and
    /// the size of each sampled piece of a weights file, bytes.
    public static let fingerprintMaxHeaderBytes: UInt64 = 100 << 20
    public static let fingerprintPieceBytes: UInt64 = 65536
    /// Names under which workers load the models.
    public static let deModelName = "de"
    public static let ceModelName = "ce"
}
