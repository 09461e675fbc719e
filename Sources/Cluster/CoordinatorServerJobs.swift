import Foundation
import Kernels
import Formats
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The coordinator shell's batch jobs on disk: the reads and writes the Jobs part asks for
/// (confining a submission's paths, indexing its corpus off the event loop, its journal, chunk
/// texts, chunk files, output assembly), each outcome handed back as an event; and resumption
/// after a restart.
extension CoordinatorServer {
    func journalURL(_ jobID: String) -> URL { dataDir.appendingPathComponent("jobs/\(jobID)/journal.log") }
    static func chunkURL(_ outDir: String, _ c: Int) -> URL { URL(fileURLWithPath: outDir).appendingPathComponent(String(format: "chunks/chunk-%05d.npy", c)) }

    /// Confines a JobSubmitRequest's paths (`JobsRoot`: real paths inside --jobs-root, no
    /// overlap, else PERMISSION_DENIED; no root, no jobs) for the `jobSubmitted` event.
    func confine(_ request: JobSubmitRequest) -> JobSubmission {
        guard let root = state.config.jobsRoot else {
            return .refused(RPCStatus(.failedPrecondition, "this coordinator runs no jobs: it was started without --jobs-root DIR"))
        }
        switch root.check(request, dataDir: dataDir.path) {
        case .success(let r): return .confined(r, corpusStamp: FileStamp.of(path: r.corpusPath))
        case .failure(let status): return .refused(status)
        }
    }

    /// The `indexCorpus` action: a job whose output directory is free (`JobsRoot.checkOutputDirectory`)
    /// has its corpus indexed on a background queue (`step` hands the result back as
    /// `corpusIndexed`); a taken one is refused at once.
    func indexCorpus(_ id: String, _ m: JobSubmitRequest, chunkSize: Int) {
        if let status = JobsRoot.checkOutputDirectory(m.outDir, jobID: id) {
            return perform(state.handle(.corpusIndexed(jobID: id, .failure(status), now: Self.now())))
        }
        indexing.start(jobID: id, request: m, chunkSize: chunkSize)
    }

    /// A finished background indexing as a `corpusIndexed` event (a problem names file:line:
    /// INVALID_ARGUMENT).
    func corpusIndexed(_ r: CorpusIndexing.Result, _ now: Double) {
        let result: Result<IndexedCorpus, RPCStatus> = r.index.map { .success(IndexedCorpus(request: r.request, chunkSize: r.chunkSize, index: $0)) }
            ?? .failure(RPCStatus(.invalidArgument, r.problem))
        perform(state.handle(.corpusIndexed(jobID: r.jobID, result, now: now)))
    }

    /// The `storeJob` action: the output directory is checked again (another job may have taken it
    /// while this corpus was being indexed), created, and the job's spec journaled; `jobStored`
    /// tells the state machine how it went.
    func storeJob(_ spec: JobJournal.Spec) {
        var error: RPCStatus?
        if let status = JobsRoot.checkOutputDirectory(spec.outDir, jobID: spec.jobID) {
            error = status
        } else {
            do {
                try FileManager.default.createDirectory(atPath: spec.outDir + "/chunks", withIntermediateDirectories: true)
                try JobJournal.append(JobJournal.specLine(spec), to: journalURL(spec.jobID))
            } catch let e {
                error = RPCStatus(.invalidArgument, "\(e)")
            }
        }
        perform(state.handle(.jobStored(jobID: spec.jobID, error: error, now: Self.now())))
    }

    /// The `readChunkTexts` action: one chunk's texts, parsed from the corpus file through the
    /// job's index (one `pread`), handed back as `chunkTextsRead` (or `chunkReadFailed`).
    func readChunkTexts(_ id: String, _ c: Int, _ w: Peer) {
        guard let job = state.jobs[id] else { return }
        let event: CoordinatorEvent
        do { event = .chunkTextsRead(jobID: id, chunk: c, worker: w, texts: try job.corpus.texts(in: job.range(c)), now: Self.now()) } catch {
            event = .chunkReadFailed(jobID: id, chunk: c, worker: w, error: "\(error)", now: Self.now())
        }
        perform(state.handle(event))
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
            // A job that cannot be resumed is logged, and its status says failed with the reason.
            func skip(_ reason: String) {
                log("job \(name): not resumed: \(reason)")
                state.jobNotResumed(name, reason: reason)
            }
            guard FileManager.default.fileExists(atPath: journalURL(name).path) else { continue }
            guard let text = try? String(contentsOf: journalURL(name), encoding: .utf8) else {
                skip("\(journalURL(name).path): cannot be read as UTF-8 text"); continue
            }
            let j: JobJournal
            do { j = try JobJournal.parse(text) } catch {
                skip("invalid journal \(journalURL(name).path): \(error)")
                continue
            }
            guard let root = state.config.jobsRoot,
                  case .success(let r) = root.check(JobSubmitRequest(corpusPath: j.spec.corpusPath, model: j.spec.model, outDir: j.spec.outDir,
                                                                     chunkSize: j.spec.chunkSize), dataDir: dataDir.path),
                  r.corpusPath == j.spec.corpusPath, r.outDir == j.spec.outDir else {
                skip("its corpus or output is outside the jobs root \(state.config.jobsRoot?.path ?? "(none: started without --jobs-root)")")
                continue
            }
            do {
                let corpus = try TextRecordIndex(path: j.spec.corpusPath)
                guard corpus.count == j.spec.docCount else { skip("its corpus changed size (\(corpus.count) records, journaled \(j.spec.docCount))"); continue }
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
                skip("cannot resume: \(error)")
            }
        }
    }
}
