import XCTest
import Cluster
import Model
import Wire

/// Issue 12's faults 4 and 10 through the real coordinator shell over loopback sockets (with the
/// HashEngine workers): a job whose model cannot load fails, journaled, and is not resumed; a
/// cancelled job is not resumed; a finished job's chunks are removed, and a coordinator killed
/// between assembly and cleanup (or after it) resumes to the same output.
extension LoopbackClusterTests {
    final class Snapshots: @unchecked Sendable {
        let lock = NSLock()
        var taken: [String: URL] = [:]
    }

    func writeTextCorpus(_ url: URL, count: Int) throws -> [Document] {
        let docs = makeCorpus(count)
        try Data(docs.map { $0.text + "\n" }.joined().utf8).write(to: url)
        return docs
    }

    func status(_ c: ClusterClient, _ id: String) throws -> JobStatusReply {
        guard case .jobStatusReply(let s) = try c.call(.jobStatusRequest(JobStatusRequest(jobID: id)), timeout: 5) else {
            struct NoStatus: Error {}
            throw NoStatus()
        }
        return s
    }

    /// A coordinator restarted on `root/coord` (as after kill -9): its state after resuming the journals.
    func restarted(_ root: URL) throws -> Coordinator {
        var cfg = CoordinatorConfig()
        cfg.shardCount = 3; cfg.deModel = "/models/de"
        cfg.jobsRoot = try JobsRoot(root.path)
        return try CoordinatorServer(bind: "tcp://127.0.0.1:0", dataDir: root.appendingPathComponent("coord"), config: cfg, corpus: []).state
    }

    func testJobWhoseModelCannotLoadFailsNamingTheFileAndIsNotResumed() throws {
        let r = try start(corpus: [], workers: 2)
        defer { stopAll(r) }
        let c = try ClusterClient(endpoint: r.endpoint)
        _ = try waitReady(c)
        let corpus = r.root.appendingPathComponent("corpus.txt")
        _ = try writeTextCorpus(corpus, count: 25)
        let model = "/nonexistent/missing-model-dir"
        guard case .jobSubmitReply(let sub) = try c.call(.jobSubmitRequest(JobSubmitRequest(corpusPath: corpus.path, model: model,
                                                                                             outDir: r.root.appendingPathComponent("out").path, chunkSize: 10)), timeout: 10)
        else { return XCTFail("no submit reply") }
        let t0 = Date()
        var st = try status(c, sub.jobID)
        while st.error.isEmpty && Date().timeIntervalSince(t0) < 60 { usleep(100_000); st = try status(c, sub.jobID) }
        XCTAssertLessThan(Date().timeIntervalSince(t0), 60, "failed within a minute")
        XCTAssertTrue(st.error.contains("no model at \(model)"), "the error names the file: \(st.error)")
        XCTAssertFalse(st.finished)
        let journal = try String(contentsOf: r.root.appendingPathComponent("coord/jobs/\(sub.jobID)/journal.log"), encoding: .utf8)
        XCTAssertTrue(journal.contains("\nfailed model \(model)"), journal)
        // After a restart the job is still failed, not run again.
        let state = try restarted(r.root)
        XCTAssertEqual(state.jobs[sub.jobID]?.error, st.error)
    }

    func testCancelledJobIsJournaledAndNotResumed() throws {
        let r = try start(corpus: [], workers: 0)   // no worker: the job cannot progress
        defer { stopAll(r) }
        let c = try ClusterClient(endpoint: r.endpoint)
        let corpus = r.root.appendingPathComponent("corpus.txt")
        _ = try writeTextCorpus(corpus, count: 25)
        guard case .jobSubmitReply(let sub) = try c.call(.jobSubmitRequest(JobSubmitRequest(corpusPath: corpus.path, model: "/models/de",
                                                                                             outDir: r.root.appendingPathComponent("out").path, chunkSize: 10)), timeout: 10)
        else { return XCTFail("no submit reply") }
        guard case .jobCancelReply(let cancel) = try c.call(.jobCancelRequest(JobCancelRequest(jobID: sub.jobID)), timeout: 5) else { return XCTFail("no cancel reply") }
        XCTAssertTrue(cancel.cancelled)
        XCTAssertEqual(try status(c, sub.jobID).error, "cancelled by a client")
        let state = try restarted(r.root)
        XCTAssertEqual(state.jobs[sub.jobID]?.error, "cancelled by a client", "not resumed after a restart")
        XCTAssertThrowsError(try c.call(.jobCancelRequest(JobCancelRequest(jobID: "job-nope")), timeout: 5)) { e in
            XCTAssertEqual((e as? RPCStatus)?.code, .notFound)
        }
    }

    func testChunksAreRemovedOnceTheOutputIsDurableAndAKilledCoordinatorResumesToTheSameOutput() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-loop-\(UUID().uuidString)")
        let snaps = Snapshots()
        // At each step, copy what is on disk: exactly what a kill -9 at that instant leaves
        // (everything before it was fsync'd).
        let r = try start(corpus: [], workers: 2, root: root) { server in
            server.jobStepHook = { _, step in
                let dest = root.appendingPathComponent("snap-\(step)")
                for d in ["out", "coord"] { try? FileManager.default.copyItem(at: root.appendingPathComponent(d), to: dest.appendingPathComponent(d)) }
                snaps.lock.lock(); snaps.taken[step] = dest; snaps.lock.unlock()
            }
        }
        defer { stopAll(r) }
        let c = try ClusterClient(endpoint: r.endpoint)
        _ = try waitReady(c)
        let corpus = root.appendingPathComponent("corpus.txt"), out = root.appendingPathComponent("out")
        let docs = try writeTextCorpus(corpus, count: 95)
        guard case .jobSubmitReply(let sub) = try c.call(.jobSubmitRequest(JobSubmitRequest(corpusPath: corpus.path, model: "/models/de", outDir: out.path, chunkSize: 10)),
                                                         timeout: 10) else { return XCTFail("no submit reply") }
        try waitFinished(c, sub.jobID)
        XCTAssertTrue(Strata.waitFor(5) { snaps.lock.lock(); defer { snaps.lock.unlock() }; return snaps.taken.count == 2 }, "both steps seen")
        stopAll(r, keepFiles: true)
        let ids = (1...95).map(String.init)
        try checkJobOutput(out, texts: docs.map(\.text), ids: ids)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("chunks").path), "no second copy of the output")
        let reference = try ["embeddings.npy", "ids.txt", "manifest.json"].map { try Data(contentsOf: out.appendingPathComponent($0)) }
        let assembled = try XCTUnwrap(snaps.taken["assembled"]), cleaned = try XCTUnwrap(snaps.taken["cleaned"])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: assembled.appendingPathComponent("out/chunks").path).count, 10,
                       "between assembly and cleanup the chunks were still there")
        for (name, snap) in [("killed between assembly and cleanup", assembled), ("killed after cleanup", cleaned)] {
            for d in ["out", "coord"] {
                try FileManager.default.removeItem(at: root.appendingPathComponent(d))
                try FileManager.default.copyItem(at: snap.appendingPathComponent(d), to: root.appendingPathComponent(d))
            }
            let state = try restarted(root)
            let job = try XCTUnwrap(state.jobs[sub.jobID], name)
            XCTAssertTrue(job.finishAnnounced && job.error.isEmpty && job.scheduler.finished, "\(name): finished, nothing to redo")
            let now = try ["embeddings.npy", "ids.txt", "manifest.json"].map { try Data(contentsOf: out.appendingPathComponent($0)) }
            XCTAssertEqual(now, reference, "\(name): the output is byte-identical and complete")
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("chunks").path), "\(name): chunks removed")
        }
        try? FileManager.default.removeItem(at: root)
    }
}

/// A job whose journal cannot be resumed at start-up is reported failed with the reason (it was
/// logged and then unknown: `job status` said "no job").
final class UnresumedJobTests: XCTestCase {
    func testJobWithAnInvalidJournalIsReportedFailedWithTheReason() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-unresumed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let jobDir = root.appendingPathComponent("coord/jobs/job-0badf00d")
        try FileManager.default.createDirectory(at: jobDir, withIntermediateDirectories: true)
        try Data("this is not a journal\n".utf8).write(to: jobDir.appendingPathComponent("journal.log"))
        var cfg = CoordinatorConfig()
        cfg.shardCount = 1; cfg.deModel = "/models/de"
        cfg.jobsRoot = try JobsRoot(root.path)
        var logs: [String] = []
        let server = try CoordinatorServer(bind: "tcp://127.0.0.1:0", dataDir: root.appendingPathComponent("coord"), config: cfg, corpus: [],
                                           log: { logs.append($0) })
        var state = server.state
        let client = Peer("client")
        let out = state.handle(.message(from: client, Envelope(requestID: 7, body: .jobStatusRequest(JobStatusRequest(jobID: "job-0badf00d"))), now: 1))
        guard case .send(let to, let env)? = out.first(where: { if case .send = $0 { return true }; return false }),
              case .jobStatusReply(let st) = env.body else { return XCTFail("no status reply: \(out)") }
        XCTAssertEqual(to, client)
        XCTAssertEqual(env.requestID, 7)
        XCTAssertFalse(st.finished)
        XCTAssertTrue(st.error.contains("not resumed") && st.error.contains("invalid journal") && st.error.contains("journal.log"), st.error)
        XCTAssertTrue(logs.contains { $0.contains("job-0badf00d") && $0.contains("not resumed") }, "\(logs)")
        // Cancel says what happened too (not "no job").
        let cancel = state.handle(.message(from: client, Envelope(requestID: 8, body: .jobCancelRequest(JobCancelRequest(jobID: "job-0badf00d"))), now: 1))
        guard case .send(_, let cenv)? = cancel.first(where: { if case .send = $0 { return true }; return false }),
              case .jobCancelReply(let c) = cenv.body else { return XCTFail("no cancel reply: \(cancel)") }
        XCTAssertFalse(c.cancelled)
        XCTAssertEqual(c.error, st.error)
        // An unknown id is still unknown.
        let none = state.handle(.message(from: client, Envelope(requestID: 9, body: .jobStatusRequest(JobStatusRequest(jobID: "job-nope"))), now: 1))
        guard case .send(_, let nenv)? = none.first(where: { if case .send = $0 { return true }; return false }) else { return XCTFail("no reply") }
        XCTAssertEqual(nenv.status?.code, .notFound)
    }
}
