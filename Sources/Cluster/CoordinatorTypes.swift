import Formats
import Index
import Wire

/// What happens to the coordinator: the shell turns socket traffic and the clock into these.
public enum CoordinatorEvent: Sendable {
    /// A decoded frame from a peer at wall-clock time `now` (seconds since 1970).
    case message(from: Peer, Envelope, now: Double)
    /// A frame from `from` that did not decode.
    case badFrame(from: Peer, WireError, now: Double)
    /// Time passes.
    case tick(now: Double)
    /// The connection of `peer` dropped (the ROUTER's socket monitor saw it disconnect): a
    /// worker becomes suspect at once.
    case connectionLost(Peer, now: Double)
    /// A client's JobSubmitRequest, after the shell confined its paths (`JobsRoot.check`).
    case jobSubmitted(from: Peer, requestID: UInt64, JobSubmission, now: Double)
    /// The shell indexed a submitted job's corpus (`indexCorpus`), or refused it: its output
    /// directory is taken, or the corpus cannot be read, is empty or has a chunk over a frame.
    case corpusIndexed(jobID: String, Result<IndexedCorpus, RPCStatus>, now: Double)
    /// The shell created the job's output directory and journaled it (`storeJob`), or could not
    /// (`error`).
    case jobStored(jobID: String, error: RPCStatus?, now: Double)
    /// The shell read the texts of a leased chunk (`readChunkTexts`).
    case chunkTextsRead(jobID: String, chunk: Int, worker: Peer, texts: [String], now: Double)
    /// The shell could not read the texts of a leased chunk: the job fails.
    case chunkReadFailed(jobID: String, chunk: Int, worker: Peer, error: String, now: Double)
    /// The shell could not write a chunk or assemble a job's output: the job fails (not journaled:
    /// a restart resumes it from its durable chunks).
    case persistFailed(jobID: String, error: String, now: Double)
    /// The shell could not send `requestID` to `to` (the wire refused the message, or the socket
    /// would not take it): the request fails at once, as for an error reply (a chunk is released
    /// and retried with back-off, then fails its job; a search try fails over).
    case sendFailed(to: Peer, requestID: UInt64, error: String, now: Double)
}

/// What the coordinator wants done; the shell performs these in order.
public enum CoordinatorAction: Sendable, Equatable {
    case send(to: Peer, Envelope)
    /// Index a submitted job's corpus off the event loop after checking that its output directory
    /// is free; answer with `corpusIndexed`.
    case indexCorpus(jobID: String, request: JobSubmitRequest, chunkSize: Int)
    /// Check the output directory again, create it and write the job's `job` journal line; answer
    /// with `jobStored`.
    case storeJob(JobJournal.Spec)
    /// Read the texts of chunk `chunk` of a job (leased to `worker`) through the job's corpus
    /// index; answer with `chunkTextsRead` or `chunkReadFailed`.
    case readChunkTexts(jobID: String, chunk: Int, worker: Peer)
    /// Persist a finished chunk (write the chunk file, fsync, append `done` to the journal).
    case persistChunk(jobID: String, chunk: Int, vectors: Vectors)
    /// Every chunk is persisted: assemble the output and append `finished` to the journal.
    case finishJob(jobID: String)
    /// A job failed (or was cancelled): append `failed <error>` to its journal, so that it is not
    /// resumed after a restart.
    case failJob(jobID: String, error: String)
    case log(String)
}

/// Coordinator settings.
public struct CoordinatorConfig: Sendable {
    public var heartbeatInterval = ProtocolConstants.heartbeatInterval
    public var heartbeatLiveness = ProtocolConstants.heartbeatLiveness
    public var replication = 1
    public var shardCount = 2
    /// Model directories (as the workers see them) for serving: the DE and an optional CE.
    public var deModel: String?
    public var ceModel: String?
    /// One CE for both stages: the "de" model is embedded with this layer's hidden states (worker).
    public var retrievalLayer: Int?
    /// The precision every worker must embed in ("fp32", "bf16", "int8"): shards and queries share
    /// one embedding, so a worker in another precision is refused at registration.
    public var precision = "fp32"
    public var searchDeadline = ProtocolConstants.searchDeadline
    public var chunkLease = ProtocolConstants.chunkLease
    /// Deadlines of LoadModel, AssignShard (base + per document) and DropShard requests, seconds.
    public var loadModelTimeout = ProtocolConstants.loadModelTimeout
    public var assignShardTimeout = ProtocolConstants.assignShardTimeout
    public var assignShardTimeoutPerDocument = ProtocolConstants.assignShardTimeoutPerDocument
    public var dropShardTimeout = ProtocolConstants.dropShardTimeout
    /// Seconds after the first worker registers before shards are placed, so that workers starting
    /// together share the corpus instead of the first one embedding it all (0 = place at once).
    public var placementDelay = 0.0
    /// Batch jobs' corpora and outputs must resolve inside this directory (nil: jobs are refused).
    public var jobsRoot: JobsRoot?
    /// Largest top_k and re-rank depth a search may ask for (INVALID_ARGUMENT past them).
    public var maxTopK = ProtocolConstants.defaultMaxTopK
    public var maxRerank = ProtocolConstants.defaultMaxRerank
    /// Per-try budget of a query embedding or shard search before another replica is asked too.
    public var searchTryBudget = ProtocolConstants.searchTryBudget
    /// Seconds a suspect worker (its connection dropped) may stay silent before it is dead.
    public var suspectGrace = ProtocolConstants.suspectGrace
    public init() {}
}

/// A batch job as the coordinator runs it: its plan, its corpus and chunk scheduler. The corpus
/// is an index of the file (record byte ranges), not its texts: the shell parses a chunk's texts
/// from the file when the chunk is leased (`readChunkTexts`); the state machine never reads it.
public struct JobRun: Sendable {
    public var spec: JobJournal.Spec
    public let corpus: TextRecordIndex
    public var scheduler: JobScheduler
    public var started: Double
    public var doneAtStart: Int
    public internal(set) var finishAnnounced = false
    public var error = ""

    public init(spec: JobJournal.Spec, corpus: TextRecordIndex, scheduler: JobScheduler, started: Double, doneAtStart: Int) {
        self.spec = spec; self.corpus = corpus; self.scheduler = scheduler; self.started = started; self.doneAtStart = doneAtStart
    }

    /// The document range of chunk `c`.
    public func range(_ c: Int) -> Range<Int> { (c * spec.chunkSize)..<min(spec.docCount, (c + 1) * spec.chunkSize) }
}

struct WorkerRecord {
    var peer: Peer
    var name: String
    var lastSeen: Double
    var lastSent: Double = 0
    var models: Set<String> = []
    /// Shards the worker had on disk when it registered.
    var held: Set<Int> = []
}

/// A model on a worker, for LoadModel retries.
struct LoadKey: Hashable {
    var worker: Peer
    var name: String
}
