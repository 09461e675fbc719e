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
    /// Names under which workers load the models.
    public static let deModelName = "de"
    public static let ceModelName = "ce"
}
