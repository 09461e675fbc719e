import Foundation
import XCTest

/// Issue 12 faults 3 and 9: `keys gen` keeps keys private and never overwrites a key set
/// silently; commands refuse an output that is one of their inputs (changing nothing), give the
/// OS's reason on errors, and `eval` leaves no run file when it fails.
final class OutputSafetyCLITests: XCTestCase {
    var tmp: URL!
    override func setUpWithError() throws { tmp = try CLI.tempDir() }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    func mode(_ p: URL) throws -> Int {
        ((try FileManager.default.attributesOfItem(atPath: p.path))[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// `strata args` under umask 000 (through /bin/sh, which sets it before exec).
    func runWithOpenUmask(_ args: [String]) throws -> CLI.Result {
        let quoted = ([CLI.binary.path] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "umask 000; exec " + quoted]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLI.Result(status: p.terminationStatus, stdout: "", stderr: String(decoding: e, as: UTF8.self))
    }

    func testKeysGenIsPrivateWhateverTheUmaskAndNeverOverwritesSilently() throws {
        let keys = tmp.appendingPathComponent("keys")
        var r = try runWithOpenUmask(["keys", "gen", "--out", keys.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try mode(keys), 0o700, "the key directory is private under umask 000")
        for name in ["server.key", "worker.key", "client.key"] { XCTAssertEqual(try mode(keys.appendingPathComponent(name)), 0o600, name) }
        for name in ["server.pub", "worker.pub", "client.pub", "authorized_workers", "authorized_clients"] {
            XCTAssertEqual(try mode(keys.appendingPathComponent(name)), 0o644, name)
        }
        XCTAssertNotEqual(try String(contentsOf: keys.appendingPathComponent("worker.pub"), encoding: .utf8),
                          try String(contentsOf: keys.appendingPathComponent("client.pub"), encoding: .utf8), "workers and clients have their own keys")
        let secret = try Data(contentsOf: keys.appendingPathComponent("server.key"))
        r = try runWithOpenUmask(["keys", "gen", "--out", keys.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("already holds a key set") && r.stderr.contains("--force"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: keys.appendingPathComponent("server.key")), secret, "the key set is untouched")
        r = try runWithOpenUmask(["keys", "gen", "--out", keys.path, "--force"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertNotEqual(try Data(contentsOf: keys.appendingPathComponent("server.key")), secret, "--force replaces it")
        XCTAssertEqual(try mode(keys.appendingPathComponent("server.key")), 0o600)
        // an existing, open directory is made private too
        let open = tmp.appendingPathComponent("open")
        try FileManager.default.createDirectory(at: open, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        XCTAssertEqual(try runWithOpenUmask(["keys", "gen", "--out", open.path]).status, 0)
        XCTAssertEqual(try mode(open), 0o700)
    }

    func testEmbedRefusesToOverwriteItsInputAlsoThroughALink() throws {
        let model = CLI.modelFixtures.appendingPathComponent("tiny-de-legacy").path
        let input = tmp.appendingPathComponent("texts.jsonl")
        let content = Data((#"{"_id": "a", "text": "first"}"# + "\n" + #"{"_id": "b", "text": "second"}"# + "\n").utf8)
        try content.write(to: input)
        let link = tmp.appendingPathComponent("link.jsonl")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: input.path)
        for output in [input, link] {
            let r = try CLI.run(["embed", "--model", model, "--input", input.path, "--output", output.path])
            XCTAssertEqual(r.status, 2, "embed onto its own input (\(output.lastPathComponent)) is refused: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("refusing to overwrite an input"), r.stderr)
            XCTAssertEqual(try Data(contentsOf: input), content, "the input is unchanged")
        }
        // through the temporary file: --output X where X.partial is the input
        let partialIn = tmp.appendingPathComponent("e.jsonl.partial")
        try content.write(to: partialIn)
        let r = try CLI.run(["embed", "--model", model, "--input", partialIn.path, "--output", tmp.appendingPathComponent("e.jsonl").path])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertEqual(try Data(contentsOf: partialIn), content)
    }

    func testScoreRefusesToOverwriteItsInput() throws {
        let model = CLI.modelFixtures.appendingPathComponent("tiny-ce").path
        let pairs = tmp.appendingPathComponent("pairs.tsv")
        let content = Data("what is apt\tapt installs packages\nfonts\tJapanese fonts\n".utf8)
        try content.write(to: pairs)
        let r = try CLI.run(["score", "--model", model, "--input", pairs.path, "--output", pairs.path])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("refusing to overwrite an input"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: pairs), content)
    }

    /// A tiny BEIR folder: corpus, queries, qrels/test.tsv.
    func beir() throws -> URL { try CLI.tinyBEIR(in: tmp, split: "test") }

    func testEvalRefusesARunOntoTheCorpusAndLeavesNoRunFileWhenItFails() throws {
        let model = CLI.modelFixtures.appendingPathComponent("tiny-de-legacy").path
        let data = try beir()
        let corpus = try Data(contentsOf: data.appendingPathComponent("corpus.jsonl"))
        var r = try CLI.run(["eval", "--model", model, "--data", data.path, "--run", data.appendingPathComponent("corpus.jsonl").path])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("refusing to overwrite an input"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: data.appendingPathComponent("corpus.jsonl")), corpus, "the corpus is unchanged")
        // The metrics path is a directory: refused before any work (no run file appears),
        // and the error gives the OS's reason, not an NSError dump.
        let run = tmp.appendingPathComponent("run.trec"), blocked = tmp.appendingPathComponent("metrics-dir")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: true)
        r = try CLI.run(["eval", "--model", model, "--data", data.path, "--run", run.path, "--output", blocked.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot write \(blocked.path)"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Error Domain"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "no run file from a failed eval")
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path + ".partial"))
        // and when it succeeds, the run is there
        r = try CLI.run(["eval", "--model", model, "--data", data.path, "--run", run.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: run.path))
    }

    func testWriteErrorsGiveTheReason() throws {
        let model = CLI.modelFixtures.appendingPathComponent("tiny-de-legacy").path
        let input = tmp.appendingPathComponent("t.txt")
        try Data("one\ntwo\n".utf8).write(to: input)
        // the temporary file's name is taken by a directory
        let out = tmp.appendingPathComponent("o.npy")
        try FileManager.default.createDirectory(atPath: out.path + ".partial", withIntermediateDirectories: true)
        var r = try CLI.run(["embed", "--model", model, "--input", input.path, "--output", out.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("cannot write \(out.path).partial: File exists"), r.stderr)
        // a directory that does not exist
        r = try CLI.run(["embed", "--model", model, "--input", input.path, "--output", tmp.appendingPathComponent("no/such/o.npy").path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("No such file or directory"), r.stderr)
        // score onto a path that is a directory
        let ce = CLI.modelFixtures.appendingPathComponent("tiny-ce").path
        let pairs = tmp.appendingPathComponent("p.tsv")
        try Data("q\tp\n".utf8).write(to: pairs)
        let dir = tmp.appendingPathComponent("adir")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        r = try CLI.run(["score", "--model", ce, "--input", pairs.path, "--output", dir.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("Is a directory"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Error Domain"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path + ".partial"))
    }

    func testNegativeTimeoutsAreRefused() throws {
        var r = try CLI.run(["job", "embed", "--coordinator", "tcp://127.0.0.1:1", "--corpus", "c", "--model", "m", "--out", "o", "--timeout", "-1"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--timeout must be 0 or more"), r.stderr)
        r = try CLI.run(["search", "--coordinator", "tcp://127.0.0.1:1", "--timeout", "-3", "q"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--timeout must be more than 0"), r.stderr)
    }

    /// `job embed --timeout` bounds the submission too: against a coordinator that never answers
    /// (a bound socket nobody reads), it gives up after about the timeout, not the 60 s submit wait.
    func testJobEmbedTimeoutBoundsTheSubmission() throws {
        let corpus = tmp.appendingPathComponent("c.txt")
        try Data("a\n".utf8).write(to: corpus)
        // a listening TCP socket that accepts the connection but never speaks ZMTP
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        XCTAssertEqual(withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }, 0)
        XCTAssertEqual(listen(fd, 4), 0)
        XCTAssertEqual(withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }, 0)
        let port = UInt16(bigEndian: addr.sin_port)
        let model = CLI.modelFixtures.appendingPathComponent("tiny-de-legacy").path
        let start = Date()
        let r = try CLI.run(["job", "embed", "--coordinator", "tcp://127.0.0.1:\(port)", "--corpus", corpus.path, "--model", model,
                             "--out", tmp.appendingPathComponent("o").path, "--timeout", "2"])
        let took = Date().timeIntervalSince(start)
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("no reply"), r.stderr)
        XCTAssertLessThan(took, 30, "gave up after about --timeout 2, not the 60 s submission wait")
    }
}
