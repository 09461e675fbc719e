import Foundation
import Kernels
import Formats
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The coordinator shell's batch jobs on disk: submission (the corpus indexed off the event
/// loop), chunk files and journal, output assembly, and resumption after a restart.
extension CoordinatorServer {
    func journalURL(_ jobID: String) -> URL { dataDir.appendingPathComponent("jobs/\(jobID)/journal.log") }
    static func chunkURL(_ outDir: String, _ c: Int) -> URL { URL(fileURLWithPath: outDir).appendingPathComponent(String(format: "chunks/chunk-%05d.npy", c)) }

    /// A job id that depends only on what the job is: submitting it again finds the same job.
    static func jobID(_ m: JobSubmitRequest, chunkSize: Int) -> String {
        let key = Array("\(m.corpusPath)\u{1}\(m.model)\u{1}\(m.outDir)\u{1}\(chunkSize)".utf8)
        return String(format: "job-%08x", CRC32.checksum(key))
    }

    /// The paths are confined first (`JobsRoot`: real paths inside --jobs-root, no overlap, else
    /// PERMISSION_DENIED; no root, no jobs). A known job is answered at once. A new one, whose
    /// output directory is free (`JobsRoot.checkOutputDirectory`), has its corpus indexed on a
    /// background queue; the reply (or the INVALID_ARGUMENT naming file:line) goes out when
    /// `jobIndexed` takes the result. The same job submitted again meanwhile waits for that
    /// indexing, not a second one.
    func submitJob(_ peer: Peer, _ requestID: UInt64, _ request: JobSubmitRequest, _ now: Double) {
        func refuse(_ status: RPCStatus) {
            log("job submission refused: \(status.message)")
            perform([.send(to: peer, Envelope(requestID: requestID, status: status, body: .error(status)))])
        }
        guard let root = state.config.jobsRoot else {
            return refuse(RPCStatus(.failedPrecondition, "this coordinator runs no jobs: it was started without --jobs-root DIR"))
        }
        let m: JobSubmitRequest
        switch root.check(request, dataDir: dataDir.path) {
        case .success(let r): m = r
        case .failure(let status): return refuse(status)
        }
        let chunkSize = m.chunkSize > 0 ? m.chunkSize : ProtocolConstants.jobChunkSize
        let id = Self.jobID(m, chunkSize: chunkSize)
        if let j = state.jobs[id] {
            return perform([.send(to: peer, Envelope(requestID: requestID, status: .ok, body: .jobSubmitReply(JobSubmitReply(jobID: id, chunks: j.spec.chunkCount))))])
        }
        if awaitingIndex[id] != nil {
            awaitingIndex[id]!.append((peer, requestID))
            return
        }
        if let status = JobsRoot.checkOutputDirectory(m.outDir, jobID: id) { return refuse(status) }
        awaitingIndex[id] = [(peer, requestID)]
        log("job \(id): indexing \(m.corpusPath) in the background")
        indexing.start(jobID: id, request: m, chunkSize: chunkSize)
    }

    /// Starts a job whose corpus was indexed (journal, output directory), or refuses it; answers
    /// every submission that waited for it.
    func jobIndexed(_ r: CorpusIndexing.Result, _ now: Double) {
        let waiting = awaitingIndex.removeValue(forKey: r.jobID) ?? []
        func answer(_ status: RPCStatus, _ body: Body) {
            perform(waiting.map { .send(to: $0.peer, Envelope(requestID: $0.requestID, status: status, body: body)) })
        }
        do {
            guard let index = r.index else { throw ClusterError(r.problem) }
            let m = r.request
            // Another job may have taken the directory while this corpus was being indexed.
            if let status = JobsRoot.checkOutputDirectory(m.outDir, jobID: r.jobID) {
                log("job \(r.jobID): refused: \(status.message)")
                return answer(status, .error(status))
            }
            try FileManager.default.createDirectory(atPath: m.outDir + "/chunks", withIntermediateDirectories: true)
            let spec = JobJournal.Spec(jobID: r.jobID, corpusPath: m.corpusPath, model: m.model, outDir: m.outDir, chunkSize: r.chunkSize,
                                       docCount: index.count, chunkCount: (index.count + r.chunkSize - 1) / r.chunkSize)
            try JobJournal.append(JobJournal.specLine(spec), to: journalURL(r.jobID))
            state.addJob(JobRun(spec: spec, corpus: index, scheduler: JobScheduler(chunkCount: spec.chunkCount), started: now, doneAtStart: 0))
            log("job \(r.jobID): \(index.count) documents in \(spec.chunkCount) chunks of \(r.chunkSize)")
            answer(.ok, .jobSubmitReply(JobSubmitReply(jobID: r.jobID, chunks: spec.chunkCount)))
            perform(state.handle(.tick(now: now)))
        } catch {
            log("job \(r.jobID): refused: \(error)")
            let status = RPCStatus(.invalidArgument, "\(error)")
            answer(status, .error(status))
        }
    }

    func persistChunk(_ jobID: String, _ chunk: Int, _ v: Vectors) throws {
        guard let job = state.jobs[jobID] else { return }
        let url = Self.chunkURL(job.spec.outDir, chunk)
        let w = try NumpyWriter(path: url.path, rows: v.rows, cols: v.dimension, temporaryPath: url.path + ".tmp", checksum: true)
        try w.append(v.data)
        try w.finish()
        let crc = w.crc32
        try JobJournal.append(JobJournal.doneLine(chunk: chunk, rows: v.rows, crc: crc), to: journalURL(jobID))
    }

    /// Streams the chunks into embeddings.npy (`NumpyWriter`, the writer `strata embed` uses:
    /// header first, then one chunk at a time, memory holds one chunk, not the output), writes
    /// ids.txt (a chunk of ids at a time, from the corpus index) and manifest.json, each through
    /// `DurableFile` (temporary file, fsync, rename, directory fsync), journals `finished`.
    func finishJob(_ jobID: String) throws {
        guard let job = state.jobs[jobID] else { return }
        let docCount = job.corpus.count
        let out = URL(fileURLWithPath: job.spec.outDir)
        let chunk0 = Self.chunkURL(job.spec.outDir, 0)
        let dim = try NumpyFile.decode(try Data(contentsOf: chunk0), name: chunk0.path).cols
        var rows = 0
        var shards: [[String: Any]] = []
        let embeddings = out.appendingPathComponent("embeddings.npy").path
        let npy = try NumpyWriter(path: embeddings, rows: docCount, cols: dim, temporaryPath: embeddings + ".tmp", checksum: true)
        defer { npy.discard() }
        for c in 0..<job.spec.chunkCount {
            let url = Self.chunkURL(job.spec.outDir, c)
            let raw = try Data(contentsOf: url)
            let m = try NumpyFile.decode(raw, name: url.path)
            guard m.cols == dim else { throw ClusterError("\(url.path): \(m.cols) columns, chunk 0 has \(dim)") }
            guard m.rows == job.range(c).count else { throw ClusterError("\(url.path): \(m.rows) rows for \(job.range(c).count) documents") }
            rows += m.rows
            try npy.append(m.data)
            shards.append(["chunk": c, "rows": m.rows, "crc32": String(format: "%08x", raw.withUnsafeBytes { CRC32.checksum($0) })])
        }
        guard rows == docCount else { throw ClusterError("output has \(rows) rows for \(docCount) documents") }
        try npy.finish()
        let crc = npy.crc32
        let idsPath = out.appendingPathComponent("ids.txt").path
        let idsCRC = try DurableFile.write(to: idsPath, temporaryPath: idsPath + ".tmp", checksum: true) { f -> UInt32 in
            for c in 0..<job.spec.chunkCount {
                try f.write(Data(try job.corpus.ids(in: job.range(c)).map { $0 + "\n" }.joined().utf8))
            }
            return f.crc32
        }
        let manifest: [String: Any] = [
            "job_id": jobID, "corpus": job.spec.corpusPath, "model": job.spec.model, "rows": rows, "dimension": dim,
            "chunk_size": job.spec.chunkSize, "shards": shards,
            "embeddings": ["file": "embeddings.npy", "crc32": String(format: "%08x", crc)],
            "ids": ["file": "ids.txt", "crc32": String(format: "%08x", idsCRC)],
        ]
        try VectorStore.writeDurably(try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys]),
                                     to: out.appendingPathComponent("manifest.json"))
        // Each of the three files had its directory fsync'd: durable before `finished` is journaled.
        try JobJournal.append(JobJournal.finishedLine, to: journalURL(jobID))
        log("job \(jobID): finished, \(rows) x \(dim) written to \(job.spec.outDir)")
        jobStepHook?(jobID, "assembled")
        removeChunks(jobID, outDir: job.spec.outDir)
    }

    /// Reloads unfinished jobs from their journals (after a coordinator restart), indexing each
    /// one's corpus (at start-up, before the loop serves).
    func resumeJobs() throws {
        let jobsDir = dataDir.appendingPathComponent("jobs")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: jobsDir.path)) ?? []
        for name in names.sorted() {
            guard let text = try? String(contentsOf: journalURL(name), encoding: .utf8), let j = JobJournal.replay(text) else { continue }
            guard let root = state.config.jobsRoot,
                  case .success(let r) = root.check(JobSubmitRequest(corpusPath: j.spec.corpusPath, model: j.spec.model, outDir: j.spec.outDir,
                                                                     chunkSize: j.spec.chunkSize), dataDir: dataDir.path),
                  r.corpusPath == j.spec.corpusPath, r.outDir == j.spec.outDir else {
                log("job \(name): not resumed: its corpus or output is outside the jobs root \(state.config.jobsRoot?.path ?? "(none: started without --jobs-root)")")
                continue
            }
            do {
                let corpus = try TextRecordIndex(path: j.spec.corpusPath)
                guard corpus.count == j.spec.docCount else { log("job \(name): corpus changed size, not resumed"); continue }
                // A chunk counts as done only when its file is there with the journaled checksum.
                let done = Set(j.done.filter { c, rec in
                    guard let d = try? Data(contentsOf: Self.chunkURL(j.spec.outDir, c)) else { return false }
                    return d.withUnsafeBytes { CRC32.checksum($0) } == rec.crc
                }.keys)
                if let ended = resumeEnded(j, corpus: corpus, done: done) { state.addJob(ended); continue }
                var run = JobRun(spec: j.spec, corpus: corpus, scheduler: JobScheduler(chunkCount: j.spec.chunkCount, alreadyDone: done),
                                 started: Self.now(), doneAtStart: done.count)
                if j.finished && done.count == j.spec.chunkCount { run.finishAnnounced = true }
                state.addJob(run)
                log("job \(name): resumed from its journal, \(done.count)/\(j.spec.chunkCount) chunks done")
                if done.count == j.spec.chunkCount && !j.finished { try finishJob(name); state.markAnnounced(name) }
            } catch {
                log("job \(name): cannot resume: \(error)")
            }
        }
    }
}
