import XCTest
import Cluster
import Formats
import Wire

/// A message the shell could not send (the wire refused it) is a failed request at once: a job
/// chunk is not left leased (the job used to hang), a search try fails over.
final class SendFailureTests: XCTestCase {
    func startJob(_ sim: SimCluster, docs: Int, chunkSize: Int) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("strata-sendfail-\(UUID().uuidString).txt")
        XCTAssertNoThrow(try Data(makeCorpus(docs).map { $0.text + "\n" }.joined().utf8).write(to: file))
        addTeardownBlock { try? FileManager.default.removeItem(at: file) }
        let chunks = (docs + chunkSize - 1) / chunkSize
        let spec = JobJournal.Spec(jobID: "job1", corpusPath: file.path, model: "/models/de", outDir: "/out", chunkSize: chunkSize, docCount: docs, chunkCount: chunks)
        sim.coordinator.addJob(JobRun(spec: spec, corpus: try! TextRecordIndex(path: file.path),
                                      scheduler: JobScheduler(chunkCount: chunks, leaseSeconds: 30), started: sim.now, doneAtStart: 0))
    }

    func isChunk(_ env: Envelope) -> Bool { if case .embedChunkRequest = env.body { return true }; return false }

    func testChunkThatCannotBeSentIsRetriedThenFailsTheJobWithTheSendError() {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1")
        sim.refuseSend = { _, env in self.isChunk(env) ? "wire invalidArgument: text holds a NUL byte" : nil }
        startJob(sim, docs: 20, chunkSize: 10)
        sim.run([.tick(now: sim.now)])
        XCTAssertTrue(sim.coordinator.jobs["job1"]!.scheduler.leased(to: Peer("w1")).isEmpty, "a chunk that was never sent is not left leased")
        XCTAssertTrue(sim.logs.contains { $0.contains("send to w1 failed") }, sim.logs.joined(separator: "\n"))
        // Back-off 1, 2, 4, 8 s between the 5 tries: well inside one 30 s lease, the job has failed.
        sim.advance(25)
        let error = sim.coordinator.jobs["job1"]!.error
        XCTAssertTrue(error.contains("failed \(ProtocolConstants.chunkMaxFailures) times") && error.contains("send to w1 failed")
                      && error.contains("NUL byte"), error)
        XCTAssertEqual(sim.failedJobs.map(\.job), ["job1"], "journaled as failed")
        let tries = sim.sentToWorkers.filter { isChunk($0.env) }.count
        XCTAssertLessThanOrEqual(tries, 2 * ProtocolConstants.chunkMaxFailures, "bounded retries")
        sim.advance(10)
        XCTAssertEqual(sim.sentToWorkers.filter { isChunk($0.env) }.count, tries, "nothing is sent once the job failed")
        XCTAssertTrue(sim.finishedJobs.isEmpty && sim.persisted.isEmpty)
    }

    func testChunkSendFailureOnceIsRetriedAndTheJobCompletes() {
        let sim = SimCluster(corpus: [], shards: 1, replication: 1)
        sim.addWorker("w1")
        var refused = 0
        sim.refuseSend = { _, env in
            guard self.isChunk(env), refused == 0 else { return nil }
            refused += 1; return "resource temporarily unavailable"
        }
        startJob(sim, docs: 30, chunkSize: 10)
        sim.advance(5)
        XCTAssertEqual(refused, 1)
        XCTAssertEqual(sim.finishedJobs, ["job1"])
        XCTAssertEqual(sim.persisted.map(\.chunk).sorted(), [0, 1, 2], "every chunk exactly once")
        XCTAssertEqual(sim.coordinator.jobs["job1"]!.error, "")
    }

    func testSearchTryThatCannotBeSentFailsOverAtOnce() {
        let corpus = makeCorpus(120)
        let sim = SimCluster(corpus: corpus, shards: 3, replication: 2)
        sim.addWorker("w1"); sim.addWorker("w2")
        sim.advance(1)
        XCTAssertTrue(sim.coordinator.ready)
        sim.refuseSend = { to, env in
            if to == Peer("w1"), case .searchShardRequest = env.body { return "wire invalidArgument" }
            return nil
        }
        // wait 0: the answer must come without any time passing (no per-try budget, no deadline).
        guard let e = sim.search("zmq shard merge", k: 10, wait: 0), case .searchReply(let r) = e.body else {
            return XCTFail("no immediate reply: the refused tries were not failed over")
        }
        XCTAssertFalse(r.partial)
        XCTAssertEqual(r.hits, SimCluster.bruteForce(corpus, "zmq shard merge", k: 10))
    }
}
