import XCTest
import Cluster
import Wire

/// Over real sockets: a worker that embeds in another precision than the cluster's is refused at
/// registration, and its `run` ends with the coordinator's reason instead of registering again.
final class PrecisionRegistrationTests: XCTestCase {
    func testWorkerInAnotherPrecisionStopsWithTheReason() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-prec-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        var cfg = CoordinatorConfig()
        cfg.precision = "int8"
        let server = try CoordinatorServer(bind: "tcp://127.0.0.1:0", dataDir: root.appendingPathComponent("coord"), config: cfg, corpus: [])
        let stop = LoopbackClusterTests.Flag(), serverDone = DispatchGroup()
        serverDone.enter()
        Thread.detachNewThread { try? server.run(until: { stop.value }); serverDone.leave() }
        defer { stop.set(); _ = serverDone.wait(timeout: .now() + 5) }

        let engine = HashEngine()   // precisionName "fp32"
        let worker = try WorkerServer(coordinator: server.endpoint, service: WorkerService(engine: engine, dataDir: root.appendingPathComponent("w")),
                                      workerID: "w-fp32")
        let giveUp = Date().addingTimeInterval(10)
        XCTAssertThrowsError(try worker.run(until: { Date() > giveUp })) { e in
            XCTAssertTrue("\(e)".contains("this worker embeds in fp32 but the cluster's documents and queries are int8"), "\(e)")
        }
        XCTAssertLessThan(Date(), giveUp, "the worker stopped on the refusal, not at the test's time limit")
    }
}
