import Formats
import Wire

/// Batch-job chunk dispatch (which worker may take a chunk) and the routing of chunk events to the
/// Jobs part (`JobsState`, which decides), and job status and cancel.
extension Coordinator {
    mutating func dispatchChunks(_ now: Double, _ out: inout [CoordinatorAction]) {
        for id in jobs.keys.sorted() where !jobs[id]!.scheduler.finished && jobs[id]!.error.isEmpty {
            // The serving DE, when the job uses the same directory, is already loaded as "de".
            let model = modelName(jobs[id]!)
            for w in servingWorkers where usable(w) {
                let held = jobs.values.reduce(0) { $0 + $1.scheduler.leased(to: w).count }
                guard held < ProtocolConstants.chunksPerWorker else { continue }
                guard membership.workers[w]!.models.contains(model) else {
                    // A failed load is tried again only after its back-off, and at most loadModelMaxAttempts times.
                    if mayLoad(w, model, now) { loadModel(w, model, jobs[id]!.spec.model, now, &out) }
                    continue
                }
                // The shell reads the chunk's texts and hands them back (`chunkTextsRead`).
                guard jobsState.lease(id, to: w, now: now, &out) else { break }
            }
        }
    }

    /// The texts of a leased chunk were read: send them to the worker holding the lease. A chunk
    /// whose lease ended meanwhile (worker dead, lease expired, job failed) is not sent; one whose
    /// worker is no longer usable goes back to the queue.
    mutating func chunkTextsRead(_ id: String, _ c: Int, _ w: Peer, _ texts: [String], _ now: Double, _ out: inout [CoordinatorAction]) {
        guard let job = jobs[id], job.error.isEmpty, job.scheduler.leases[c]?.worker == w else { return }
        guard usable(w), texts.count == job.range(c).count else {
            jobs[id]!.scheduler.release(c, by: w)
            if texts.count != job.range(c).count { jobFailed(id, "chunk \(c): \(texts.count) texts read for \(job.range(c).count) documents", &out) }
            return
        }
        send(w, .embedChunkRequest(EmbedChunkRequest(jobID: id, chunkIndex: c, model: modelName(job), texts: texts)), .chunk(job: id, chunk: c), now, &out)
    }

    mutating func chunkDone(_ o: Outstanding, _ jobID: String, _ chunk: Int, _ v: Vectors, _ now: Double, _ out: inout [CoordinatorAction]) {
        if case .wrongRows(let expected) = jobsState.chunkDone(jobID, chunk, v, &out) {
            requestFailed(o, RPCStatus(.internalError, "chunk \(chunk) came back with \(v.rows) rows, expected \(expected)"), now, &out)
        }
    }

    /// Bytes an EmbedChunk frame may hold beyond its texts or vectors (envelope, ids, model name).
    public static let frameMargin = ProtocolConstants.chunkFrameMargin

    /// Checks that every chunk of a job fits one frame (the texts travel in one EmbedChunkRequest):
    /// throws a ClusterError naming the first chunk over the limit and what to do.
    public static func checkChunkFrames(texts: [String], chunkSize: Int, limit: Int = ProtocolConstants.maxFrameBytes) throws {
        for start in stride(from: 0, to: texts.count, by: chunkSize) {
            let end = min(texts.count, start + chunkSize)
            try checkChunkFrame(texts[start..<end], first: start, chunkSize: chunkSize, limit: limit)
        }
    }

    /// Bytes a text costs in a frame beyond its own: a 1-byte tag and a length varint of up to 5 bytes.
    static let textOverhead = ProtocolConstants.frameTextOverhead

    static func checkChunkFrame(_ texts: ArraySlice<String>, first start: Int, chunkSize: Int, limit: Int) throws {
        let bytes = texts.reduce(0) { $0 + $1.utf8.count + textOverhead }
        if bytes + frameMargin > limit {
            throw ClusterError("chunk \(start / chunkSize) (documents \(start)..<\(start + texts.count)) holds \(bytes) bytes of text, over the "
                               + "\(limit >> 20) MiB frame limit less \(frameMargin >> 20) MiB: use a smaller --chunk-size")
        }
    }

    /// Records a job the shell found on disk at start-up but could not resume, and why: its status
    /// is then failed with that reason (not unknown).
    public mutating func jobNotResumed(_ jobID: String, reason: String) {
        jobsState.notResumed[jobID] = LogLine.oneLine("not resumed at start-up: " + reason)
    }

    /// Records that a job's output was assembled outside `handle` (resumed complete).
    public mutating func markAnnounced(_ jobID: String) { jobs[jobID]?.finishAnnounced = true }

    /// The shell could not write a chunk or assemble the output: the job fails (also when its
    /// finish was already announced) and leases no more chunks. Not journaled: the journal is on
    /// the same disk, and a restart resumes the job from the chunks that are durable.
    mutating func persistFailed(_ jobID: String, _ error: String, _ out: inout [CoordinatorAction]) {
        if jobsState.persistFailed(jobID, error, &out) { dropChunkRequests(jobID) }
    }

    /// Forgets the chunk requests of a job in flight: their replies are then ignored.
    mutating func dropChunkRequests(_ jobID: String) {
        _ = requests.removeAll { if case .chunk(jobID, _) = $0.purpose { return true }; return false }
    }

    /// A job fails (its model cannot load, a chunk failed too often, a client cancelled it): its
    /// chunks are no longer leased, late replies are ignored, and the shell journals `failed` so
    /// that the job is not resumed after a restart. A finished or already failed job is left as is.
    mutating func jobFailed(_ jobID: String, _ error: String, _ out: inout [CoordinatorAction]) {
        if jobsState.fail(jobID, error, &out) { dropChunkRequests(jobID) }
    }

    /// JobCancelRequest: fails a running job ("cancelled by a client"); a finished or failed job is
    /// left as it is (cancelled = false).
    mutating func cancelJob(_ from: Peer, _ requestID: UInt64, _ jobID: String, _ out: inout [CoordinatorAction]) {
        guard let j = jobs[jobID] else {
            if let reason = jobsState.notResumed[jobID] {
                reply(from, requestID, .jobCancelReply(JobCancelReply(jobID: jobID, cancelled: false, error: reason)), &out); return
            }
            fail(from, requestID, RPCStatus(.notFound, "no job \(jobID)"), &out); return
        }
        let running = j.error.isEmpty && !j.finishAnnounced
        if running { jobFailed(jobID, "cancelled by a client", &out) }
        reply(from, requestID, .jobCancelReply(JobCancelReply(jobID: jobID, cancelled: running, error: jobs[jobID]!.error)), &out)
    }

    func jobStatus(_ from: Peer, _ requestID: UInt64, _ jobID: String, _ now: Double, _ out: inout [CoordinatorAction]) {
        guard let j = jobs[jobID] else {
            if let reason = jobsState.notResumed[jobID] {
                let r = JobStatusReply(jobID: jobID, chunksTotal: 0, chunksDone: 0, docsDone: 0, docsTotal: 0, finished: false, etaSeconds: -1, error: reason)
                out.append(.send(to: from, Envelope(requestID: requestID, status: .ok, body: .jobStatusReply(r))))
                return
            }
            out.append(.send(to: from, Envelope(requestID: requestID, status: RPCStatus(.notFound, "no job \(jobID)"), body: .error(RPCStatus(.notFound, "no job \(jobID)")))))
            return
        }
        let docsDone = j.scheduler.done.reduce(0) { $0 + j.range($1).count }
        let doneNow = j.scheduler.done.count - j.doneAtStart
        let remaining = j.scheduler.chunkCount - j.scheduler.done.count
        let eta = doneNow > 0 ? (now - j.started) / Double(doneNow) * Double(remaining) : -1
        let r = JobStatusReply(jobID: jobID, chunksTotal: j.scheduler.chunkCount, chunksDone: j.scheduler.done.count, docsDone: docsDone,
                               docsTotal: j.spec.docCount, finished: j.finishAnnounced && j.error.isEmpty, etaSeconds: eta, error: j.error)
        out.append(.send(to: from, Envelope(requestID: requestID, status: .ok, body: .jobStatusReply(r))))
    }
}
