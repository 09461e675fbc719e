import Foundation
import XCTest

/// The CLI's output files go through Formats' `DurableFile`: written to `OUT.partial`, fsync'd and
/// renamed into place, so an output is whole or absent. A stale `OUT.partial` left by a killed
/// run is replaced and never survives; a failed run leaves neither the output nor a `.partial`;
/// errors name the file and give the OS's reason.
final class DurableOutputCLITests: XCTestCase {
    var tmp: URL!
    override func setUpWithError() throws { tmp = try CLI.tempDir() }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    private var model: String { CLI.modelFixtures.appendingPathComponent("tiny-de-legacy").path }

    private func beir(split: String) throws -> URL { try CLI.tinyBEIR(in: tmp, split: split) }

    private func exists(_ p: String) -> Bool { FileManager.default.fileExists(atPath: p) }

    /// A stale `.partial` from a killed run.
    private func plantStalePartial(_ out: URL) throws { try Data("half a line from a killed ru".utf8).write(to: URL(fileURLWithPath: out.path + ".partial")) }

    func testMineOutputIsWholeOrAbsentAndNeverItsInput() throws {
        let data = try beir(split: "train")
        let out = tmp.appendingPathComponent("mined.jsonl")
        // success: the output is whole (every line parses) and the stale .partial is gone
        try plantStalePartial(out)
        var r = try CLI.run(["mine", "--model", model, "--data", data.path, "--out", out.path, "--negatives", "2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2, "one line per (query, relevant document)")
        for l in lines { XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(l.utf8)), String(l)) }
        XCTAssertFalse(exists(out.path + ".partial"), "the stale temporary file of a killed run does not survive")

        // OUT is a directory: refused before any work (the rename would fail at the very end), the
        // error names the file and the OS's reason, and nothing is touched (the stale .partial neither)
        let blocked = tmp.appendingPathComponent("blocked.jsonl")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: true)
        try plantStalePartial(blocked)
        r = try CLI.run(["mine", "--model", model, "--data", data.path, "--out", blocked.path, "--negatives", "2"])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot write \(blocked.path): Is a directory (--out needs a file name)"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Error Domain"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: blocked.path + ".partial")), Data("half a line from a killed ru".utf8),
                       "refused before any work: the stale .partial is left as it was")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: blocked.path), [], "the directory in the way is untouched")

        // the output onto an input is refused before anything is read, and the input is unchanged
        let corpus = data.appendingPathComponent("corpus.jsonl")
        let before = try Data(contentsOf: corpus)
        r = try CLI.run(["mine", "--model", model, "--data", data.path, "--out", corpus.path, "--negatives", "2"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("refusing to overwrite an input"), r.stderr)
        XCTAssertEqual(try Data(contentsOf: corpus), before)

        // a directory that does not exist: refused before the work, with the OS's reason
        r = try CLI.run(["mine", "--model", model, "--data", data.path, "--out", tmp.appendingPathComponent("no/such/m.jsonl").path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("No such file or directory"), r.stderr)
    }

    func testEvalRunFileIsWholeAndAStalePartialNeverSurvives() throws {
        let data = try beir(split: "test")
        let run = tmp.appendingPathComponent("run.trec"), metrics = tmp.appendingPathComponent("m.json")
        // the metrics path is a directory: refused before any work (no run file, nothing touched)
        try plantStalePartial(run)
        try FileManager.default.createDirectory(at: metrics, withIntermediateDirectories: true)
        var r = try CLI.run(["eval", "--model", model, "--data", data.path, "--run", run.path, "--output", metrics.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("cannot write \(metrics.path): Is a directory (--output needs a file name)"), r.stderr)
        XCTAssertFalse(exists(run.path), "no run file from a failed eval")
        XCTAssertFalse(exists(metrics.path + ".partial"))
        // success: a whole 6-column run for both queries, the metrics JSON, no temporary files
        try FileManager.default.removeItem(at: metrics)
        try plantStalePartial(run)
        r = try CLI.run(["eval", "--model", model, "--data", data.path, "--run", run.path, "--output", metrics.path, "--top", "3"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOf: run, encoding: .utf8).split(separator: "\n").map { $0.split(separator: " ") }
        XCTAssertEqual(rows.count, 6, "top 3 for each of 2 queries")
        XCTAssertTrue(rows.allSatisfy { $0.count == 6 && $0[1] == "Q0" }, "\(rows)")
        XCTAssertEqual(Set(rows.map { String($0[0]) }), ["q1", "q2"])
        XCTAssertNoThrow(try JSONSerialization.jsonObject(with: Data(contentsOf: metrics)))
        XCTAssertFalse(exists(run.path + ".partial"))
        XCTAssertFalse(exists(metrics.path + ".partial"))
    }
}
