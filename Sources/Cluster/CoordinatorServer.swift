import Foundation
import Kernels
import Model
import Wire
import ZMQ
#if canImport(Glibc)
import Glibc
#endif

/// The coordinator's shell: a ROUTER socket, the clock, and the disk (job journals and output)
/// around the pure `Coordinator`.
public final class CoordinatorServer {
    public private(set) var state: Coordinator
    let context: Context
    let router: Socket
    let zap: ZAPHandler?
    public let dataDir: URL
    /// The bound endpoint (with the real port when bound to port 0).
    public let endpoint: String
    var log: (String) -> Void

    public init(bind: String, dataDir: URL, config: CoordinatorConfig, corpus: [Document], keys: CurveKeys? = nil,
                log: @escaping (String) -> Void = { _ in }) throws {
        state = Coordinator(config: config, corpus: corpus)
        self.dataDir = dataDir
        self.log = log
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        context = try Context()
        if let keys {
            guard let secret = keys.serverSecret else { throw ClusterError("server.key missing from the key directory") }
            zap = try ZAPHandler(context: context, allowedClientKeys: keys.authorizedClients)
            router = try context.socket(.router)
            try router.makeCurveServer(secretKey: secret)
        } else {
            zap = nil
            router = try context.socket(.router)
        }
        try router.setMaxMessageSize(Int64(ProtocolConstants.maxFrameBytes))
        // A worker that reconnects (new process, same --id) before its old connection is noticed
        // dead must be accepted, not refused as a duplicate routing id.
        try router.setRouterHandover(true)
        try router.bind(bind)
        endpoint = try router.lastEndpoint
        try resumeJobs()
    }

    deinit { router.close(); zap?.stop() }

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// Serves until `stop()` returns true (checked at every tick).
    public func run(until stop: () -> Bool) throws {
        var poller = Poller([router])
        var lastTick = 0.0
        while !stop() {
            let readable = try poller.poll(timeoutMilliseconds: Int(ProtocolConstants.tickInterval * 1000))[0]
            if readable {
                while let frames = try router.receiveMultipart(dontWait: true) {
                    handleFrames(frames)
                }
            }
            let t = Self.now()
            if t - lastTick >= ProtocolConstants.tickInterval {
                lastTick = t
                perform(state.handle(.tick(now: t)))
            }
        }
    }

    func handleFrames(_ frames: [[UInt8]]) {
        guard frames.count == 2 else {
            log("dropped a message of \(frames.count) frames (expected routing id + one envelope)")
            if let id = frames.first { perform([.send(to: Peer(id), Envelope(requestID: 0, status: RPCStatus(.invalidArgument, "one envelope frame per message"), body: .error(RPCStatus(.invalidArgument, "one envelope frame per message"))))]) }
            return
        }
        let peer = Peer(frames[0])
        let t = Self.now()
        do {
            let env = try Wire.decode(frames[1])
            if case .jobSubmitRequest(let m) = env.body { return submitJob(peer, env.requestID, m, t) }
            perform(state.handle(.message(from: peer, env, now: t)))
        } catch let e as WireError {
            perform(state.handle(.badFrame(from: peer, e, now: t)))
        } catch {
            log("unexpected decode error \(error)")
        }
    }

    func perform(_ actions: [CoordinatorAction]) {
        for a in actions {
            switch a {
            case .send(let to, let env):
                do { try router.send(multipart: [to.bytes, try Wire.encode(env)], dontWait: true) } catch { log("send to \(to) failed: \(error)") }
            case .log(let s): log(s)
            case .persistChunk(let job, let chunk, let v):
                do { try persistChunk(job, chunk, v) } catch {
                    log("job \(job): cannot write chunk \(chunk): \(error)"); state.failJob(job, "cannot write chunk \(chunk): \(error)")
                }
            case .finishJob(let job):
                do { try finishJob(job) } catch {
                    log("job \(job): cannot assemble the output: \(error)"); state.failJob(job, "cannot assemble the output: \(error)")
                }
            }
        }
    }

    // MARK: jobs on disk

    func journalURL(_ jobID: String) -> URL { dataDir.appendingPathComponent("jobs/\(jobID)/journal.log") }
    static func chunkURL(_ outDir: String, _ c: Int) -> URL { URL(fileURLWithPath: outDir).appendingPathComponent(String(format: "chunks/chunk-%05d.npy", c)) }

    /// A job id that depends only on what the job is: submitting it again finds the same job.
    static func jobID(_ m: JobSubmitRequest, chunkSize: Int) -> String {
        let key = Array("\(m.corpusPath)\u{1}\(m.model)\u{1}\(m.outDir)\u{1}\(chunkSize)".utf8)
        return String(format: "job-%08x", CRC32.checksum(key))
    }

    func submitJob(_ peer: Peer, _ requestID: UInt64, _ m: JobSubmitRequest, _ now: Double) {
        func fail(_ code: StatusCode, _ msg: String) {
            perform([.send(to: peer, Envelope(requestID: requestID, status: RPCStatus(code, msg), body: .error(RPCStatus(code, msg))))])
        }
        let chunkSize = m.chunkSize > 0 ? m.chunkSize : ProtocolConstants.jobChunkSize
        let id = Self.jobID(m, chunkSize: chunkSize)
        if let j = state.jobs[id] {
            return perform([.send(to: peer, Envelope(requestID: requestID, status: .ok, body: .jobSubmitReply(JobSubmitReply(jobID: id, chunks: j.spec.chunkCount))))])
        }
        do {
            let docs = try CorpusReader.read(m.corpusPath)
            guard !docs.isEmpty else { return fail(.invalidArgument, "\(m.corpusPath): the corpus is empty") }
            do { try Coordinator.checkChunkFrames(texts: docs.map(\.text), chunkSize: chunkSize) } catch {
                return fail(.invalidArgument, "\(m.corpusPath): \(error)")
            }
            try FileManager.default.createDirectory(atPath: m.outDir + "/chunks", withIntermediateDirectories: true)
            let spec = JobJournal.Spec(jobID: id, corpusPath: m.corpusPath, model: m.model, outDir: m.outDir, chunkSize: chunkSize,
                                       docCount: docs.count, chunkCount: (docs.count + chunkSize - 1) / chunkSize)
            try JobJournal.append(JobJournal.specLine(spec), to: journalURL(id))
            state.addJob(JobRun(spec: spec, texts: docs.map(\.text), scheduler: JobScheduler(chunkCount: spec.chunkCount), started: now, doneAtStart: 0))
            log("job \(id): \(docs.count) documents in \(spec.chunkCount) chunks of \(chunkSize)")
            perform([.send(to: peer, Envelope(requestID: requestID, status: .ok, body: .jobSubmitReply(JobSubmitReply(jobID: id, chunks: spec.chunkCount))))])
            perform(state.handle(.tick(now: now)))
        } catch {
            fail(.invalidArgument, "\(error)")
        }
    }

    func persistChunk(_ jobID: String, _ chunk: Int, _ v: Vectors) throws {
        guard let job = state.jobs[jobID] else { return }
        let data = NumpyFile.encode(Matrix(rows: v.rows, cols: v.dimension, data: v.data))
        try VectorStore.writeDurably(data, to: Self.chunkURL(job.spec.outDir, chunk))
        let crc = data.withUnsafeBytes { CRC32.checksum($0) }
        try JobJournal.append(JobJournal.doneLine(chunk: chunk, rows: v.rows, crc: crc), to: journalURL(jobID))
    }

    /// Streams the chunks into embeddings.npy (header first, then one chunk at a time through a
    /// FileHandle: memory holds one chunk, not the output), writes ids.txt and manifest.json,
    /// journals `finished`.
    func finishJob(_ jobID: String) throws {
        guard let job = state.jobs[jobID] else { return }
        let docs = try CorpusReader.read(job.spec.corpusPath)
        let out = URL(fileURLWithPath: job.spec.outDir)
        let chunk0 = Self.chunkURL(job.spec.outDir, 0)
        let dim = try NumpyFile.decode(try Data(contentsOf: chunk0), name: chunk0.path).cols
        let final = out.appendingPathComponent("embeddings.npy"), tmp = final.appendingPathExtension("tmp")
        guard FileManager.default.createFile(atPath: tmp.path, contents: nil) else { throw ClusterError("\(tmp.path): cannot create (errno \(errno))") }
        var rows = 0
        var shards: [[String: Any]] = []
        var crc: UInt32 = 0
        do {
            let h = try FileHandle(forWritingTo: tmp)
            defer { try? h.close() }
            let header = NumpyFile.header(rows: docs.count, cols: dim)
            try h.write(contentsOf: header)
            crc = header.withUnsafeBytes { CRC32.checksum($0) }
            for c in 0..<job.spec.chunkCount {
                let url = Self.chunkURL(job.spec.outDir, c)
                let raw = try Data(contentsOf: url)
                let m = try NumpyFile.decode(raw, name: url.path)
                guard m.cols == dim else { throw ClusterError("\(url.path): \(m.cols) columns, chunk 0 has \(dim)") }
                guard m.rows == job.range(c).count else { throw ClusterError("\(url.path): \(m.rows) rows for \(job.range(c).count) documents") }
                rows += m.rows
                let body = m.data.withUnsafeBytes { Data($0) }
                try h.write(contentsOf: body)
                crc = body.withUnsafeBytes { CRC32.checksum($0, crc: crc) }
                shards.append(["file": "chunks/" + url.lastPathComponent, "rows": m.rows, "crc32": String(format: "%08x", raw.withUnsafeBytes { CRC32.checksum($0) })])
            }
            guard rows == docs.count else { throw ClusterError("output has \(rows) rows for \(docs.count) documents") }
            try h.synchronize()
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw error
        }
        if rename(tmp.path, final.path) != 0 { throw ClusterError("\(final.path): rename failed (errno \(errno))") }
        let ids = Data(docs.map { $0.id + "\n" }.joined().utf8)
        try VectorStore.writeDurably(ids, to: out.appendingPathComponent("ids.txt"))
        let manifest: [String: Any] = [
            "job_id": jobID, "corpus": job.spec.corpusPath, "model": job.spec.model, "rows": rows, "dimension": dim,
            "chunk_size": job.spec.chunkSize, "shards": shards,
            "embeddings": ["file": "embeddings.npy", "crc32": String(format: "%08x", crc)],
            "ids": ["file": "ids.txt", "crc32": String(format: "%08x", ids.withUnsafeBytes { CRC32.checksum($0) })],
        ]
        try VectorStore.writeDurably(try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys]),
                                     to: out.appendingPathComponent("manifest.json"))
        try JobJournal.append(JobJournal.finishedLine, to: journalURL(jobID))
        log("job \(jobID): finished, \(rows) x \(dim) written to \(job.spec.outDir)")
    }

    /// Reloads unfinished jobs from their journals (after a coordinator restart).
    func resumeJobs() throws {
        let jobsDir = dataDir.appendingPathComponent("jobs")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: jobsDir.path)) ?? []
        for name in names.sorted() {
            guard let text = try? String(contentsOf: journalURL(name), encoding: .utf8), let j = JobJournal.replay(text) else { continue }
            do {
                let docs = try CorpusReader.read(j.spec.corpusPath)
                guard docs.count == j.spec.docCount else { log("job \(name): corpus changed size, not resumed"); continue }
                // A chunk counts as done only when its file is there with the journaled checksum.
                let done = Set(j.done.filter { c, rec in
                    guard let d = try? Data(contentsOf: Self.chunkURL(j.spec.outDir, c)) else { return false }
                    return d.withUnsafeBytes { CRC32.checksum($0) } == rec.crc
                }.keys)
                var run = JobRun(spec: j.spec, texts: docs.map(\.text), scheduler: JobScheduler(chunkCount: j.spec.chunkCount, alreadyDone: done),
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
