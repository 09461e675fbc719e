import XCTest
import Cluster
import Wire

/// A journal's numbers are untrusted (a corrupt or forged file): a `job` line whose counts are
/// impossible is refused with its reason, never used to allocate (chunk count 2^63-1 once aborted
/// the coordinator at start-up).
final class JournalBoundsTests: XCTestCase {
    func line(_ chunkSize: String, _ docs: String, _ chunks: String, id: String = "j") -> String {
        "job \(id)\t/c.txt\t/m\t/o\t\(chunkSize)\t\(docs)\t\(chunks)\n"
    }

    func testImpossibleSpecLinesAreRefusedWithTheirReason() {
        let cases: [(String, String)] = [
            (line("1", "12", "9223372036854775807"), "chunk count 9223372036854775807 is not the 12"),
            (line("0", "12", "0"), "chunk size 0"),
            (line("-4", "12", "3"), "chunk size -4"),
            (line("4", "-1", "0"), "document count -1"),
            (line("4", "9223372036854775807", "2305843009213693952"), "document count 9223372036854775807"),
            (line("4", "12", "4"), "chunk count 4 is not the 3"),
            (line("4", "12", "3", id: ""), "empty job id"),
            (line("4", "12", "x"), "malformed"),
            ("done 1\t2\tff\n", "no `job` line"),
        ]
        for (text, reason) in cases {
            XCTAssertNil(JobJournal.replay(text), text)
            XCTAssertThrowsError(try JobJournal.parse(text), text) { XCTAssertTrue("\($0)".contains(reason), "\(text): \($0)") }
        }
        XCTAssertEqual(try JobJournal.parse(line("4", "12", "3")).spec.chunkCount, 3)
        XCTAssertEqual(try JobJournal.parse(line("4", "0", "0")).spec.chunkCount, 0, "an empty corpus is consistent")
    }

    func testDoneLinesWithImpossibleRowsAreIgnored() throws {
        let j = try JobJournal.parse(line("4", "12", "3") + "done 0\t4\tff\ndone 1\t5\tff\ndone 2\t-1\tff\n")
        XCTAssertEqual(j.done.keys.sorted(), [0], "rows over the chunk size or negative: that chunk is redone")
    }
}

/// A real coordinator shell meeting a forged journal at start-up.
extension LoopbackClusterTests {
    func testForgedJournalIsNotResumedAndTheCoordinatorStarts() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-loop-\(UUID().uuidString)")
        let corpus = root.appendingPathComponent("corpus.txt")
        let journal = root.appendingPathComponent("coord/jobs/job-forged/journal.log")
        try FileManager.default.createDirectory(at: journal.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data((1...12).map { "document \($0)\n" }.joined().utf8).write(to: corpus)
        let rootPath = try JobsRoot(root.path).path
        try Data("job job-forged\t\(rootPath)/corpus.txt\t/models/de\t\(rootPath)/out\t1\t12\t9223372036854775807\n".utf8).write(to: journal)
        let r = try start(corpus: [], workers: 1, root: root)
        defer { stopAll(r) }
        let c = try ClusterClient(endpoint: r.endpoint)
        _ = try waitReady(c)
        // Not resumed: its status says failed, with the reason (it used to be unknown).
        guard case .jobStatusReply(let st) = try c.call(.jobStatusRequest(JobStatusRequest(jobID: "job-forged")), timeout: 5) else {
            return XCTFail("no status reply")
        }
        XCTAssertFalse(st.finished)
        XCTAssertEqual(st.chunksDone, 0)
        XCTAssertTrue(st.error.hasPrefix("not resumed at start-up: invalid journal") && st.error.contains("journal.log"), st.error)
        XCTAssertFalse(FileManager.default.fileExists(atPath: root.appendingPathComponent("out").path), "nothing was run")
    }
}
