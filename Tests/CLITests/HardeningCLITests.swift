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

/// `strata embed` against inputs and outputs an attack found wrong: a NUL byte or an endless line in
/// the input, a FIFO as input (read twice), a directory as output (found only at the end), a
/// forgotten flag value, and SIGTERM mid-run (which left `OUT.partial`).
final class EmbedHardeningCLITests: XCTestCase {
    var dir: URL!
    let model = CLI.modelFixtures.appendingPathComponent("tiny-de-legacy").path

    override func setUpWithError() throws {
        dir = try CLI.tempDir()
        let d = dir!
        addTeardownBlock { try? FileManager.default.removeItem(at: d) }
    }

    func embed(_ input: String, _ output: String) throws -> CLI.Result {
        try CLI.run(["embed", "--model", model, "--input", input, "--output", output])
    }

    func testNulByteAndEndlessLineAreDataErrorsNamingTheLine() throws {
        let nul = dir.appendingPathComponent("nul.txt")
        try Data(Array("a".utf8) + [0] + Array("b\nc\n".utf8)).write(to: nul)
        var r = try embed(nul.path, dir.appendingPathComponent("o.npy").path)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("\(nul.path):1: the text contains a NUL byte"), r.stderr)
        r = try embed("/dev/zero", dir.appendingPathComponent("z.npy").path)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("/dev/zero:1: line longer than 67108864 bytes"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["nul.txt"], "no output, no .partial")
    }

    func testFifoInputAndDirectoryOutputAreRefusedBeforeAnyWork() throws {
        let fifo = dir.appendingPathComponent("fifo.txt")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        var r = try embed(fifo.path, dir.appendingPathComponent("o.npy").path)
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("input must be a regular file"), r.stderr)
        let input = dir.appendingPathComponent("in.txt")
        try "one\ntwo\n".write(to: input, atomically: true, encoding: .utf8)
        let outDir = dir.appendingPathComponent("taken.npy")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: false)
        r = try embed(input.path, outDir.path)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot write \(outDir.path): Is a directory"), r.stderr)
        XCTAssertFalse(r.stderr.contains("embedded"), "refused before any embedding: \(r.stderr)")
    }

    /// eval, score and mine refuse an output that is a directory before any work, as embed does:
    /// the model named does not exist, so a refusal that came after loading it would name the model.
    func testEvalScoreMineRefuseADirectoryOutputBeforeAnyWork() throws {
        let data = try CLI.tinyBEIR(in: dir, split: "test")
        let pairs = dir.appendingPathComponent("p.tsv")
        try Data("q\tp\n".utf8).write(to: pairs)
        let taken = dir.appendingPathComponent("taken.out")
        try FileManager.default.createDirectory(at: taken, withIntermediateDirectories: false)
        let missing = dir.appendingPathComponent("no-such-model").path
        for (args, flag) in [(["eval", "--model", missing, "--data", data.path, "--run", taken.path], "run"),
                             (["eval", "--model", missing, "--data", data.path, "--output", taken.path], "output"),
                             (["score", "--model", missing, "--input", pairs.path, "--output", taken.path], "output"),
                             (["mine", "--model", missing, "--data", data.path, "--out", taken.path], "out")] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 1, "\(args): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("cannot write \(taken.path): Is a directory (--\(flag) needs a file name)"), "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("no-such-model"), "refused before the model is looked at: \(r.stderr)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: taken.path), [], "the directory in the way is untouched")
            XCTAssertFalse(FileManager.default.fileExists(atPath: taken.path + ".partial"))
        }
    }

    func testFlagValueThatIsAFlagOrEmptyIsRefused() throws {
        var r = try CLI.run(["embed", "--model", "--input", "t.txt", "--output", "o.npy"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--model needs a value (DIR); got the flag --input") || r.stderr.contains("got the flag --input"), r.stderr)
        r = try CLI.run(["embed", "--model", "", "--input", "t.txt", "--output", "o.npy"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("--model needs a non-empty value"), r.stderr)
    }

    func testUnansweredJobSubmissionSaysTheCoordinatorMayBeIndexing() throws {
        let corpus = dir.appendingPathComponent("c.txt")
        try "one\n".write(to: corpus, atomically: true, encoding: .utf8)
        let r = try CLI.run(["job", "embed", "--coordinator", "tcp://127.0.0.1:1", "--corpus", corpus.path, "--model", model,
                             "--out", dir.appendingPathComponent("out").path, "--timeout", "1"])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("no reply to the submission within 1 s: the coordinator may still be indexing the corpus"), r.stderr)
    }

    func testSigtermRemovesThePartialOutput() throws {
        let input = dir.appendingPathComponent("big.txt")
        try Data((0..<300_000).map { "document number \($0) with a few words\n" }.joined().utf8).write(to: input)
        let out = dir.appendingPathComponent("o.npy"), partial = out.path + ".partial"
        let p = Process()
        p.executableURL = CLI.binary
        p.arguments = ["embed", "--model", model, "--input", input.path, "--output", out.path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let end = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: partial) && p.isRunning && Date() < end { usleep(2_000) }
        XCTAssertTrue(p.isRunning && FileManager.default.fileExists(atPath: partial), "the run must still be writing its .partial to be stopped")
        p.terminate()   // SIGTERM
        p.waitUntilExit()
        XCTAssertEqual(p.terminationReason, .uncaughtSignal)
        XCTAssertFalse(FileManager.default.fileExists(atPath: partial), "no .partial left")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }
}
