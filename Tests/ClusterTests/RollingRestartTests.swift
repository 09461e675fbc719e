import Foundation
import XCTest
import Cluster
import Wire

/// Issue 9 item 5 with real processes: every worker of a replication-2 cluster is restarted in
/// turn (SIGTERM drain, exit 0, a fresh worker started) while clients keep searching; no query is
/// lost, none comes back partial, and every answer equals the answer before the restarts.
final class RollingRestartTests: XCTestCase {
    final class Tally: @unchecked Sendable {
        let lock = NSLock()
        var answered = 0, partial = 0, wrong = 0
        var failures: [String] = []
        func add(_ f: (Tally) -> Void) { lock.lock(); f(self); lock.unlock() }
    }
    final class Flag: @unchecked Sendable {
        private let lock = NSLock(); private var v = false
        var value: Bool { lock.lock(); defer { lock.unlock() }; return v }
        func set() { lock.lock(); v = true; lock.unlock() }
    }

    func testRollingRestartUnderLoadLosesNoQueryAndNoneIsPartial() throws {
        let de = try Strata.fixtureModel("tiny-de-legacy")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("strata-rolling-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        var processes: [Process] = []
        defer { for p in processes { Strata.stop(p, signal: SIGKILL) }; try? FileManager.default.removeItem(at: tmp) }
        let corpus = tmp.appendingPathComponent("corpus.jsonl")
        try writeCorpus(corpus, count: 80)
        let ep = tmp.appendingPathComponent("ep")
        processes.append(try Strata.spawn(["coordinator", "--bind", "tcp://127.0.0.1:0", "--data-dir", tmp.appendingPathComponent("c").path,
                                           "--endpoint-file", ep.path, "--settle", "0", "--corpus", corpus.path, "--model", de,
                                           "--shards", "4", "--replication", "2"], log: tmp.appendingPathComponent("c.log")))
        var endpoint = ""
        XCTAssertTrue(Strata.waitFor(20) { endpoint = (try? String(contentsOf: ep, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""; return !endpoint.isEmpty })
        var started = 0
        func startWorker() throws -> Process {
            started += 1
            return try Strata.spawn(["worker", "--coordinator", endpoint, "--data-dir", tmp.appendingPathComponent("w\(started)").path],
                                    log: tmp.appendingPathComponent("w\(started).log"))
        }
        var workers = try (0..<3).map { _ in try startWorker() }
        processes += workers
        let client = try ClusterClient(endpoint: endpoint)
        XCTAssertTrue(Strata.waitFor(60) {
            if case .clusterStatusReply(let s)? = try? client.call(.clusterStatusRequest, timeout: 2) { return s.ready && s.workersLive == 3 }
            return false
        }, "the cluster became ready")
        sleep(2)   // let placement settle to 2 replicas per shard
        let queries = ["network server daemon", "python library", "kernel font graphics"]
        var expected: [String: [String]] = [:]
        for q in queries {
            guard case .searchReply(let r) = try client.call(.searchRequest(SearchRequest(query: q, topK: 10)), timeout: 10) else { return XCTFail("no baseline answer") }
            XCTAssertFalse(r.partial)
            expected[q] = r.hits.map(\.docID)
        }
        // two clients search without pause during the whole rolling restart
        let tally = Tally(), stop = Flag(), group = DispatchGroup()
        let expectedAnswers = expected, address = endpoint
        for c in 0..<2 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                guard let cl = try? ClusterClient(endpoint: address) else { tally.add { $0.failures.append("client \(c) could not connect") }; return }
                var i = c
                while !stop.value {
                    let q = queries[i % queries.count]; i += 1
                    do {
                        guard case .searchReply(let r) = try cl.call(.searchRequest(SearchRequest(query: q, topK: 10)), timeout: 15) else {
                            tally.add { $0.failures.append("not a search reply") }; continue
                        }
                        tally.add { t in
                            t.answered += 1
                            if r.partial { t.partial += 1 }
                            if r.hits.map(\.docID) != expectedAnswers[q] { t.wrong += 1 }
                        }
                    } catch {
                        tally.add { $0.failures.append("\(error)") }
                    }
                }
            }
        }
        for i in 0..<workers.count {
            let old = workers[i]
            kill(old.processIdentifier, SIGTERM)
            XCTAssertTrue(Strata.waitFor(90) { !old.isRunning }, "worker \(i + 1) drained and exited")
            if !old.isRunning {
                old.waitUntilExit()
                XCTAssertEqual(old.terminationStatus, 0, "worker \(i + 1) exit status")
            }
            workers[i] = try startWorker()
            processes.append(workers[i])
            XCTAssertTrue(Strata.waitFor(60) {
                if case .clusterStatusReply(let s)? = try? client.call(.clusterStatusRequest, timeout: 2) { return s.ready && s.workersLive == 3 }
                return false
            }, "the replacement of worker \(i + 1) joined")
            sleep(1)
        }
        stop.set()
        XCTAssertEqual(group.wait(timeout: .now() + 30), .success)
        let log = (try? String(contentsOf: tmp.appendingPathComponent("c.log"), encoding: .utf8)) ?? ""
        XCTAssertEqual(log.components(separatedBy: "drained: it leaves").count - 1, 3, "three drains completed:\n\(log.suffix(3000))")
        tally.add { t in
            XCTAssertTrue(t.failures.isEmpty, "lost queries: \(t.failures.prefix(5))")
            XCTAssertGreaterThan(t.answered, 20, "the clients kept searching")
            XCTAssertEqual(t.partial, 0, "partial answers among \(t.answered)")
            XCTAssertEqual(t.wrong, 0, "answers differing from the baseline among \(t.answered)")
        }
    }
}
