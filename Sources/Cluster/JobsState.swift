import Formats
import Wire

/// How the shell's confinement check of a JobSubmitRequest came out. The check resolves the
/// paths on disk (`JobsRoot.check`), so the shell makes it and hands the outcome in.
public enum JobSubmission: Sendable {
    /// The request with its paths resolved inside the jobs root, and its corpus's stamp now (nil:
    /// not known), against which a known job with the same id is checked.
    case confined(JobSubmitRequest, corpusStamp: FileStamp? = nil)
    /// Refused (no jobs root, a path outside it, input and output overlapping...).
    case refused(RPCStatus)
}

/// A submitted job's corpus, indexed by the shell off the event loop (`CorpusIndexing`).
public struct IndexedCorpus: Sendable {
    public var request: JobSubmitRequest
    public var chunkSize: Int
    public var index: TextRecordIndex
    public init(request: JobSubmitRequest, chunkSize: Int, index: TextRecordIndex) {
        self.request = request; self.chunkSize = chunkSize; self.index = index
    }
}

/// A client waiting for the reply to its JobSubmitRequest.
struct JobWaiter: Sendable, Equatable {
    var peer: Peer
    var requestID: UInt64
}

/// The Jobs part of the coordinator: the batch jobs it runs, and the life of a submission, as
/// events in and actions out. Pure: it holds each job's corpus index (record byte ranges) for the
/// shell but never reads through it; every read and write is an action the shell performs, whose
/// outcome comes back as an event:
///
///     jobSubmitted(confined) -> indexCorpus        (shell: output directory free? index the corpus)
///     corpusIndexed(ok)      -> storeJob(spec)     (shell: output directory, journal `job` line)
///     jobStored(ok)          -> the job runs; every waiting submission is answered
///
/// A running job's chunks are decided here too (the extension below): lease (`readChunkTexts`;
/// the shell answers `chunkTextsRead` / `chunkReadFailed`), completion (`persistChunk`, then
/// `finishJob`; a failed write comes back as `persistFailed`), failures with back-off and a cap,
/// lease expiry, and the job's failure (`failJob`). The Coordinator chooses the worker for each
/// lease (it knows the workers and their models), sends the chunk, and forgets a failed job's
/// requests in flight (CoordinatorJobs.swift).
public struct JobsState: Sendable {
    /// Jobs by id: running, finished or failed.
    public internal(set) var runs: [String: JobRun] = [:]
    /// Submissions waiting for their job's corpus to be indexed and its journal written.
    var waiting: [String: [JobWaiter]] = [:]
    /// Jobs whose corpus is indexed and whose journal the shell is writing (`storeJob`).
    var storing: [String: (spec: JobJournal.Spec, index: TextRecordIndex)] = [:]
    /// Jobs found on disk at start-up that could not be resumed (invalid journal, corpus changed,
    /// outside the jobs root), with the reason: a status request reports each as failed.
    public internal(set) var notResumed: [String: String] = [:]

    public init() {}

    /// A job id that depends only on what the job is: submitting it again finds the same job.
    public static func jobID(_ m: JobSubmitRequest, chunkSize: Int) -> String {
        let key = Array("\(m.corpusPath)\u{1}\(m.model)\u{1}\(m.outDir)\u{1}\(chunkSize)".utf8)
        return String(format: "job-%08x", CRC32.checksum(key))
    }

    /// Submissions still waiting for their job to be indexed and stored, by job id.
    public var pendingSubmissions: [String: Int] { waiting.mapValues(\.count) }

    /// A client submitted a job. A known job is answered at once; the same job submitted again
    /// while it is being indexed waits for that indexing (not a second one); a new job is indexed.
    mutating func submitted(_ w: JobWaiter, _ s: JobSubmission, _ out: inout [CoordinatorAction]) {
        let m: JobSubmitRequest, stamp: FileStamp?
        switch s {
        case .confined(let r, let st): m = r; stamp = st
        case .refused(let status):
            out.append(.log("job submission refused: \(status.message)"))
            Self.answer([w], status, .error(status), &out)
            return
        }
        let chunkSize = m.chunkSize > 0 ? m.chunkSize : ProtocolConstants.jobChunkSize
        let id = Self.jobID(m, chunkSize: chunkSize)
        if let j = runs[id] {
            // The same job names the same path: follow it only if that path still holds the file it indexed.
            if let stamp, let then = j.corpus.stamp, stamp != then {
                let status = RPCStatus(.failedPrecondition, "job \(id): the corpus \(m.corpusPath) changed after this job indexed it "
                                       + "(\(then.size) bytes then, \(stamp.size) now, or another modification time); its output in \(m.outDir) "
                                       + "is from the earlier corpus: choose another --out for the new one")
                out.append(.log("job submission refused: \(status.message)"))
                return Self.answer([w], status, .error(status), &out)
            }
            return Self.answer([w], .ok, .jobSubmitReply(JobSubmitReply(jobID: id, chunks: j.spec.chunkCount)), &out)
        }
        if waiting[id] != nil {
            waiting[id]!.append(w)
            return
        }
        if let status = nestingProblem(m.outDir, id) {
            out.append(.log("job submission refused: \(status.message)"))
            return Self.answer([w], status, .error(status), &out)
        }
        waiting[id] = [w]
        out.append(.log("job \(id): indexing \(m.corpusPath) in the background"))
        out.append(.indexCorpus(jobID: id, request: m, chunkSize: chunkSize))
    }

    /// The shell indexed a job's corpus (or found its output directory taken, or the corpus
    /// unreadable, empty or with a chunk over the frame limit): store the job, or refuse everyone
    /// waiting for it.
    mutating func corpusIndexed(_ id: String, _ result: Result<IndexedCorpus, RPCStatus>, _ out: inout [CoordinatorAction]) {
        guard waiting[id] != nil, storing[id] == nil else { return }
        switch result {
        case .failure(let status):
            refuseWaiting(id, status, &out)
        case .success(let c):
            // Checked again: a job stored while this corpus was indexed may have taken a nesting directory.
            if let status = nestingProblem(c.request.outDir, id) { return refuseWaiting(id, status, &out) }
            let spec = JobJournal.Spec(jobID: id, corpusPath: c.request.corpusPath, model: c.request.model, outDir: c.request.outDir,
                                       chunkSize: c.chunkSize, docCount: c.index.count,
                                       chunkCount: (c.index.count + c.chunkSize - 1) / c.chunkSize)
            storing[id] = (spec, c.index)
            out.append(.storeJob(spec))
        }
    }

    /// The shell wrote (or could not write) a job's output directory and journal: the job runs
    /// from `now`, and every waiting submission gets its id; or every one gets the error.
    mutating func stored(_ id: String, _ error: RPCStatus?, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard let s = storing.removeValue(forKey: id) else { return }
        if let error { return refuseWaiting(id, error, &out) }
        let waiters = waiting.removeValue(forKey: id) ?? []
        notResumed[id] = nil   // submitted again and accepted: this run is the job now
        runs[id] = JobRun(spec: s.spec, corpus: s.index, scheduler: JobScheduler(chunkCount: s.spec.chunkCount), started: now, doneAtStart: 0)
        out.append(.log("job \(id): \(s.spec.docCount) documents in \(s.spec.chunkCount) chunks of \(s.spec.chunkSize)"))
        Self.answer(waiters, .ok, .jobSubmitReply(JobSubmitReply(jobID: id, chunks: s.spec.chunkCount)), &out)
    }

    /// A refusal when output directory `outDir` is, holds or lies inside another known job's output
    /// directory (finishing either would remove or overwrite what the other writes), else nil.
    func nestingProblem(_ outDir: String, _ id: String) -> RPCStatus? {
        let others = runs.filter { $0.key != id }.map { ($0.key, $0.value.spec.outDir) }
            + storing.filter { $0.key != id }.map { ($0.key, $0.value.spec.outDir) }
        for (other, dir) in others.sorted(by: { $0.0 < $1.0 })
        where JobsRoot.isWithin(outDir, dir) || JobsRoot.isWithin(dir, outDir) {
            let how = outDir == dir ? "is" : JobsRoot.isWithin(outDir, dir) ? "lies inside" : "contains"
            return RPCStatus(.failedPrecondition, "output directory \(outDir) \(how) the output directory \(dir) of job \(other): "
                             + "job outputs must not overlap; choose another directory")
        }
        return nil
    }

    mutating func refuseWaiting(_ id: String, _ status: RPCStatus, _ out: inout [CoordinatorAction]) {
        let waiters = waiting.removeValue(forKey: id) ?? []
        storing[id] = nil
        out.append(.log("job \(id): refused: \(status.message)"))
        Self.answer(waiters, status, .error(status), &out)
    }

    static func answer(_ waiters: [JobWaiter], _ status: RPCStatus, _ body: Body, _ out: inout [CoordinatorAction]) {
        for w in waiters { out.append(.send(to: w.peer, Envelope(requestID: w.requestID, status: status, body: body))) }
    }
}

/// The Jobs part's decisions on a running job's chunks: lease, completion, failure with back-off
/// and a cap, lease expiry, the job's own failure. Each returns what the Coordinator must route
/// (a `true` "failed" result: forget the job's chunk requests in flight, which the Requests part
/// holds); which worker may take a chunk (live, model loaded, under its share) is the
/// Coordinator's choice (CoordinatorJobs.swift).
extension JobsState {
    /// Adds a running job (the shell read its corpus and journal; tests).
    public mutating func add(_ job: JobRun) { runs[job.spec.jobID] = job }

    /// Leases the next ready chunk of job `id` to `worker` and asks the shell for its texts
    /// (`readChunkTexts`); false when none is ready (or the job failed or finished).
    public mutating func lease(_ id: String, to worker: Peer, now: Double, _ out: inout [CoordinatorAction]) -> Bool {
        guard let job = runs[id], job.error.isEmpty, !job.scheduler.finished,
              let c = runs[id]!.scheduler.lease(to: worker, now: now) else { return false }
        out.append(.readChunkTexts(jobID: id, chunk: c, worker: worker))
        return true
    }

    /// A job fails (its model cannot load, a chunk failed too often, a client cancelled it): its
    /// chunks are no longer leased, and `failJob` asks the shell to journal it so that it is not
    /// resumed. A finished or already failed job is left as is. True when it failed now.
    public mutating func fail(_ id: String, _ error: String, _ out: inout [CoordinatorAction]) -> Bool {
        guard var job = runs[id], job.error.isEmpty, !job.finishAnnounced else { return false }
        job.error = LogLine.oneLine(error)
        job.scheduler.releaseAll()
        runs[id] = job
        out.append(.log("job \(id) failed: \(job.error)"))
        out.append(.failJob(jobID: id, error: job.error))
        return true
    }

    /// The shell could not write a chunk or assemble the output: the job fails (also when its
    /// finish was already announced). Not journaled: the journal is on the same disk, and a
    /// restart resumes the job from the chunks that are durable. True when it failed now.
    public mutating func persistFailed(_ id: String, _ error: String, _ out: inout [CoordinatorAction]) -> Bool {
        guard var job = runs[id], job.error.isEmpty else { return false }
        job.error = LogLine.oneLine(error)
        job.scheduler.releaseAll()
        runs[id] = job
        out.append(.log("job \(id) failed: \(job.error)"))
        return true
    }

    /// A chunk failed (error reply, lease expiry, a send that never left): it waits out a back-off
    /// before it is leased again; past `chunkMaxFailures` the job fails. True when it failed now.
    public mutating func chunkFailed(_ id: String, _ chunk: Int, _ message: String, now: Double, _ out: inout [CoordinatorAction]) -> Bool {
        guard runs[id] != nil, runs[id]!.error.isEmpty else { return false }
        let r = runs[id]!.scheduler.noteFailure(chunk, message, now: now)
        if r.exhausted(cap: ProtocolConstants.chunkMaxFailures) {
            return fail(id, "chunk \(chunk) failed \(r.failures) times (last: \(message))", &out)
        }
        out.append(.log(String(format: "job %@: chunk %d failed (%d of %d): %@; next try in %.0f s", id, chunk, r.failures,
                               ProtocolConstants.chunkMaxFailures, message, r.nextTry - now)))
        return false
    }

    /// The request for `chunk` to `worker` failed with `status`. Only the lease holder's failure
    /// counts (a late one changes nothing). A chunk that cannot fit a frame fails the same way on
    /// every worker, so it fails the job instead of being leased again and again; a failure that
    /// is not the chunk's (its worker died: `countsAsFailure` false) only releases it. True when
    /// the job failed now.
    public mutating func chunkRequestFailed(_ id: String, _ chunk: Int, by worker: Peer, _ status: RPCStatus, countsAsFailure: Bool,
                                     now: Double, _ out: inout [CoordinatorAction]) -> Bool {
        guard runs[id]?.scheduler.release(chunk, by: worker) == true else { return false }
        if status.code == .resourceExhausted { return fail(id, "chunk \(chunk): \(status.message)", &out) }
        return countsAsFailure ? chunkFailed(id, chunk, status.message, now: now, &out) : false
    }

    /// The shell could not read a leased chunk's texts: the job fails. True when it failed now.
    public mutating func chunkReadFailed(_ id: String, _ chunk: Int, by worker: Peer, _ error: String, _ out: inout [CoordinatorAction]) -> Bool {
        guard runs[id]?.scheduler.release(chunk, by: worker) == true else { return false }
        return fail(id, "chunk \(chunk): \(error)", &out)
    }

    /// Releases the expired leases of every job, each a chunk failure; returns the jobs that failed now.
    public mutating func expireLeases(now: Double, _ out: inout [CoordinatorAction]) -> [String] {
        var failed: [String] = []
        for id in runs.keys.sorted() {
            let late = runs[id]!.scheduler.expire(now: now)
            if !late.isEmpty { out.append(.log("job \(id): leases of chunks \(late) expired")) }
            for c in late where chunkFailed(id, c, "lease expired after \(runs[id]!.scheduler.leaseSeconds) s", now: now, &out) { failed.append(id) }
        }
        return failed
    }

    /// A worker died: its chunks go back to the queue.
    public mutating func workerDied(_ worker: Peer, _ out: inout [CoordinatorAction]) {
        for id in runs.keys.sorted() {
            let lost = runs[id]!.scheduler.workerDied(worker)
            if !lost.isEmpty { out.append(.log("job \(id): chunks \(lost) of \(worker) go back to the queue")) }
        }
    }

    /// How a chunk's vectors were taken.
    public enum ChunkResult: Equatable {
        /// Ignored: the job failed, or the chunk was already done (a late duplicate).
        case ignored
        /// Written (`persistChunk`), and the output assembled when it was the last (`finishJob`).
        case accepted
        /// The reply has the wrong number of rows: the request failed.
        case wrongRows(expected: Int)
    }

    /// A worker returned the vectors of `chunk`: the first completion is persisted, and the last
    /// chunk's completion asks the shell to assemble the output (once).
    public mutating func chunkDone(_ id: String, _ chunk: Int, _ v: Vectors, _ out: inout [CoordinatorAction]) -> ChunkResult {
        guard var job = runs[id], job.error.isEmpty else { return .ignored }
        guard v.rows == job.range(chunk).count else { return .wrongRows(expected: job.range(chunk).count) }
        var result = ChunkResult.ignored
        if job.scheduler.complete(chunk) {
            out.append(.persistChunk(jobID: id, chunk: chunk, vectors: v))
            result = .accepted
        }
        if job.scheduler.finished && !job.finishAnnounced {
            job.finishAnnounced = true
            out.append(.finishJob(jobID: id))
        }
        runs[id] = job
        return result
    }
}
