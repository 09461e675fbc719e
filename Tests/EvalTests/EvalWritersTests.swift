import Foundation
import XCTest
import Eval
import Formats

/// Eval's writers go through `DurableFile`: an existing file is replaced whole, no temporary file is
/// left behind, and a failure is a `DataError.unwritable` that names the file and gives the OS's
/// reason, leaving what was there unchanged.
final class EvalWritersTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    let run: Run = ["q1": [("d1", 0.9), ("d2", 0.5)], "q2": [("d2", 0.25)]]

    private func exists(_ url: URL) -> Bool { FileManager.default.fileExists(atPath: url.path) }

    /// `body` throws `DataError.unwritable` about `file` whose reason contains `reason`.
    private func assertUnwritable(_ file: String, _ reason: String, _ body: () throws -> Void, line: UInt = #line) {
        XCTAssertThrowsError(try body(), line: line) { error in
            guard case DataError.unwritable(let f, let r)? = error as? DataError else {
                return XCTFail("expected DataError.unwritable, got \(error)", line: line)
            }
            XCTAssertEqual(f, file, line: line)
            XCTAssertTrue(r.contains(reason), r, line: line)
        }
    }

    func testTrecRunReplacesWholeAndFailsNamingTheFile() throws {
        let url = dir.appendingPathComponent("run.trec")
        try Data("old contents\n".utf8).write(to: url)
        try Data("stale".utf8).write(to: URL(fileURLWithPath: url.path + ".partial"))
        try writeTrecRun(run, runName: "t", to: url)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "q1 Q0 d1 1 0.9 t\nq1 Q0 d2 2 0.5 t\nq2 Q0 d2 1 0.25 t\n")
        XCTAssertFalse(exists(URL(fileURLWithPath: url.path + ".partial")), "no temporary file is left")

        let missing = dir.appendingPathComponent("no/such/run.trec")
        assertUnwritable(missing.path + ".partial", "No such file or directory") { try writeTrecRun(run, to: missing) }
        // the final name is a directory: the rename fails, the directory stays as it was
        let blocked = dir.appendingPathComponent("blocked.trec")
        try FileManager.default.createDirectory(at: blocked, withIntermediateDirectories: true)
        assertUnwritable(blocked.path, "Is a directory") { try writeTrecRun(run, to: blocked) }
        XCTAssertFalse(exists(URL(fileURLWithPath: blocked.path + ".partial")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: blocked.path), [])
    }

    func testTrecRunIntoADurableFileAppearsOnlyOnCommit() throws {
        let url = dir.appendingPathComponent("run.trec")
        let f = try DurableFile(path: url.path)
        try writeTrecRun(run, runName: "t", to: f)
        XCTAssertFalse(exists(url), "nothing under the final name before commit")
        f.discard()
        XCTAssertFalse(exists(url)); XCTAssertFalse(exists(URL(fileURLWithPath: f.temporaryPath)))
        let g = try DurableFile(path: url.path)
        try writeTrecRun(run, runName: "t", to: g)
        try g.commit()
        XCTAssertEqual(try readTrecRun(url)["q1"]!.map(\.0), ["d1", "d2"])
    }

    func testMetricsJSONReplacesWholeAndFailsNamingTheFile() throws {
        let ev = evaluate(run: run, qrels: ["q1": ["d1": 1], "q2": ["d2": 1]], cutoffs: [1])
        let url = dir.appendingPathComponent("m.json")
        try Data("{not json".utf8).write(to: url)
        try writeMetricsJSON(ev, extra: ["model": "x"], to: url)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        XCTAssertEqual(obj["queries"] as? Int, 2)
        XCTAssertEqual(obj["model"] as? String, "x")
        XCTAssertFalse(exists(URL(fileURLWithPath: url.path + ".partial")))
        let missing = dir.appendingPathComponent("no/m.json")
        assertUnwritable(missing.path + ".partial", "No such file or directory") { try writeMetricsJSON(ev, to: missing) }
    }

    func testDebianDatasetWriteFailsNamingTheFile() throws {
        let ds = DebianDataset(packagesTexts: try DebianDataset.findLists(in: fixtureURL("debian-lists")).packages.map(DebianControl.readList),
                               translationTexts: try DebianDataset.findLists(in: fixtureURL("debian-lists")).translations.map(DebianControl.readList))
        let corpus = dir.appendingPathComponent("corpus.jsonl")
        try FileManager.default.createDirectory(at: corpus, withIntermediateDirectories: true)
        assertUnwritable(corpus.path, "Is a directory") { try ds.write(to: dir) }
        XCTAssertFalse(exists(URL(fileURLWithPath: corpus.path + ".partial")))
        try FileManager.default.removeItem(at: corpus)
        try ds.write(to: dir)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertFalse(names.contains { $0.hasSuffix(".partial") }, "\(names)")
        XCTAssertTrue(names.contains("counts.json"))
    }
}
