import Foundation
import XCTest
import Cluster
import Wire

/// `WorkerService.computeNice` (`strata worker --compute-nice`): a worker's forward passes run at
/// the lower priority, its shard searches at the process's own.
final class ComputePriorityTests: XCTestCase {
    /// Records the nice value of the thread each bulk `embed` runs on.
    final class NiceEngine: InferenceEngine, @unchecked Sendable {
        let lock = NSLock()
        var nices: [Int32] = []
        func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool) { (8, false) }
        func embed(model: String, texts: [String]) throws -> Vectors {
            let n = ComputePriority.currentThreadNice()
            lock.lock(); nices.append(n); lock.unlock()
            return Vectors(rows: texts.count, dimension: 8, data: [Float](repeating: 1, count: texts.count * 8))
        }
        func score(model: String, query: String, passages: [String]) throws -> [Float] { passages.map { _ in 0 } }
    }

    final class Seen: @unchecked Sendable {
        let lock = NSLock()
        var replies: [(UInt64, Int32)] = []
        func add(_ id: UInt64, _ nice: Int32) { lock.lock(); replies.append((id, nice)); lock.unlock() }
        var all: [(UInt64, Int32)] { lock.lock(); defer { lock.unlock() }; return replies }
    }

    func testForwardPassesRunAtTheComputeNiceAndSearchesDoNot() throws {
        #if !os(Linux)
        throw XCTSkip("per-thread nice values are Linux's")
        #endif
        let base = ComputePriority.currentThreadNice()
        guard base < 19 else { throw XCTSkip("the test process already runs at nice \(base)") }
        let nice = min(19, base + 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-nice-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let engine = NiceEngine()
        let service = WorkerService(engine: engine, dataDir: dir)
        service.computeNice = nice
        XCTAssertEqual(service.handle(Envelope(requestID: 1, body: .loadModelRequest(LoadModelRequest(name: "de", path: "/m/de"))), now: 0)?.status?.code, .ok)
        let seen = Seen()
        let done = DispatchSemaphore(value: 0)
        let scheduler = WorkerScheduler(service: service, deliver: { reply in
            seen.add(reply.requestID, ComputePriority.currentThreadNice())
            done.signal()
        })
        scheduler.start()
        defer { scheduler.stop() }
        scheduler.submit(Envelope(requestID: 2, body: .embedChunkRequest(EmbedChunkRequest(jobID: "j", chunkIndex: 0, model: "de",
                                                                                         texts: (0..<40).map { "text \($0)" }))))
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        scheduler.submit(Envelope(requestID: 3, body: .searchShardRequest(SearchShardRequest(shardID: 0, k: 1, query: [Float](repeating: 0, count: 8)))))
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertFalse(engine.nices.isEmpty)
        XCTAssertEqual(Set(engine.nices), [nice], "every batch of the chunk ran at the compute nice")
        XCTAssertEqual(seen.all.first { $0.0 == 2 }?.1, nice, "the chunk's reply came from the compute thread")
        XCTAssertEqual(seen.all.first { $0.0 == 3 }?.1, base, "the shard search ran at the process's priority")
    }

    func testNiceZeroChangesNothing() {
        let before = ComputePriority.currentThreadNice()
        ComputePriority.lowerCurrentThread(to: 0)
        XCTAssertEqual(ComputePriority.currentThreadNice(), before)
    }
}
