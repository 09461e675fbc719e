import Foundation
import XCTest

/// Command lines an attack on the binary used to crash it or make it hang: each is now refused at
/// once with a message naming the flag, and exit status 2 (usage), never a trap.
final class HardeningCLITests: XCTestCase {
    /// An endpoint nothing listens on: the command must fail on its flags before it would wait there.
    let nowhere = "tcp://127.0.0.1:1"

    func assertRefused(_ args: [String], mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try CLI.run(args)
        XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)", file: file, line: line)
        for w in words { XCTAssertTrue(r.stderr.contains(w), "\(args): stderr lacks '\(w)': \(r.stderr)", file: file, line: line) }
        XCTAssertFalse(r.stderr.contains("Fatal error"), r.stderr, file: file, line: line)
    }

    func testHugeTimeoutsAreRefusedNotTrapped() throws {
        try assertRefused(["search", "--coordinator", nowhere, "--timeout", "1e16", "x"], mentioning: ["--timeout", "at most 86400"])
        try assertRefused(["cluster", "status", "--coordinator", nowhere, "--timeout", "1e300"], mentioning: ["--timeout", "at most"])
        try assertRefused(["job", "status", "--coordinator", nowhere, "--timeout", "1e300", "abc"], mentioning: ["--timeout", "at most"])
        try assertRefused(["job", "cancel", "--coordinator", nowhere, "--timeout", "1e300", "abc"], mentioning: ["--timeout", "at most"])
    }

    func testBenchSearchRefusesAnAllocationItCannotMake() throws {
        try assertRefused(["bench", "search", "--n", "99999999999999"], mentioning: ["--n"])
        try assertRefused(["bench", "search", "--n", "10000000", "--dim", "65536"], mentioning: ["--n", "--dim"])
    }
}

extension HardeningCLITests {
    /// A retrieval layer the model does not have is refused before any process starts (workers
    /// that could not load it used to give up and leave `cluster up` printing "ETA ?" for ever).
    func testClusterUpRefusesARetrievalLayerTheModelLacks() throws {
        let dir = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = dir.appendingPathComponent("c.txt")
        try "one\ntwo\n".write(to: corpus, atomically: true, encoding: .utf8)
        let model = CLI.modelFixtures.appendingPathComponent("tiny-ce").path
        let layers = try XCTUnwrap((try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/config.json"))) as? [String: Any])?["num_hidden_layers"] as? Int)
        try assertRefused(["cluster", "up", "--model", model, "--corpus", corpus.path, "--workers", "1", "--retrieval-layer", "99",
                           "--data-dir", dir.appendingPathComponent("data").path],
                          mentioning: ["--retrieval-layer", "0...\(layers)", "'99'"])
    }
}
