import XCTest
import Formats

/// The corpus index against `TextRecords.read`: same records (re-parsed per range), same errors.
final class TextRecordIndexTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("strata-index") }

    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let url = dir.appendingPathComponent(name)
        XCTAssertNoThrow(try Data(bytes).write(to: url))
        return url.path
    }

    func write(_ name: String, _ text: String) -> String { write(name, Array(text.utf8)) }

    /// The index's records, whole and over every sub-range, equal `TextRecords.read`'s.
    func checkSame(_ path: String, expectCount: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let expect = try TextRecords.read(path)
        XCTAssertEqual(expect.count, expectCount, "the fixture itself", file: file, line: line)
        let index = try TextRecordIndex(path: path)
        XCTAssertEqual(index.count, expect.count, file: file, line: line)
        XCTAssertEqual(try index.records(in: 0..<index.count), expect, file: file, line: line)
        for a in 0...index.count {
            for b in a...index.count {
                let slice = Array(expect[a..<b])
                XCTAssertEqual(try index.texts(in: a..<b), slice.map(\.text), "texts \(a)..<\(b)", file: file, line: line)
                XCTAssertEqual(try index.ids(in: a..<b), slice.map(\.id), "ids \(a)..<\(b)", file: file, line: line)
                let textBytes = slice.reduce(0) { $0 + $1.text.utf8.count }
                if TextRecords.isJSONLines(path) {
                    XCTAssertGreaterThanOrEqual(index.byteCount(in: a..<b), textBytes, "an upper bound", file: file, line: line)
                } else {
                    XCTAssertEqual(index.byteCount(in: a..<b), textBytes, "plain text: exact", file: file, line: line)
                }
            }
        }
    }

    func testPlainTextKeepsBlankLinesAndNumbersLines() throws {
        // blank and space-only lines kept, CRLF, non-ASCII, a last line without newline
        try checkSame(write("a.txt", "first line\n\n  \r\nsecond\tline\r\népée 日本 🙂\n\nlast without newline"), expectCount: 7)
        try checkSame(write("b.txt", "one\ntwo\n"), expectCount: 2)
        try checkSame(write("c.txt", "\n"), expectCount: 1)
        try checkSame(write("d.txt", "only\r\n\r\n"), expectCount: 2)
        try checkSame(write("empty.txt", ""), expectCount: 0)
        XCTAssertEqual(try TextRecordIndex(path: write("e.txt", "x\ny")).ids(in: 0..<2), ["1", "2"])
    }

    func testJSONLinesWithTitlesBlankLinesAndEscapes() throws {
        let lines = [
            #"{"_id": "d1", "title": "A title", "text": "the text"}"#,
            "",
            #"{"_id": "d2", "title": "", "text": "empty title"}"#,
            "   \t",
            #"{"_id": 17, "text": "numeric id, no title"}"#,
            #"{"_id": "d3", "title": null, "text": "null title\nwith an escaped newline and \u00e9"}"#,
            #"{"text": "épée 日本", "_id": "d4", "title": "Titre", "extra": {"k": [1, 2]}}"#,
        ]
        try checkSame(write("c.jsonl", lines.joined(separator: "\r\n") + "\r\n\n"), expectCount: 5)
        try checkSame(write("d.jsonl", lines.joined(separator: "\n")), expectCount: 5)
        let r = try TextRecordIndex(path: write("e.jsonl", lines.joined(separator: "\n"))).records(in: 0..<2)
        XCTAssertEqual(r, [TextRecord(id: "d1", text: "A title the text"), TextRecord(id: "d2", text: "empty title")])
    }

    /// Bad input fails with exactly the error `TextRecords.read` gives (file:line: problem).
    func testBadInputFailsLikeTextRecords() throws {
        let ok = #"{"_id": "a", "text": "fine"}"#
        let cases: [(String, [UInt8], String)] = [
            ("utf8.txt", Array("good\nalso good\n".utf8) + [0x66, 0xFF, 0x0A] + Array("after\n".utf8), ":3: invalid UTF-8"),
            ("utf8.jsonl", Array((ok + "\n").utf8) + [0x7B, 0xC3, 0x28, 0x0A], ":2: invalid UTF-8"),
            ("json.jsonl", Array((ok + "\n\n{\"_id\": \"b\", \"text\": \n").utf8), ":3: not valid JSON"),
            ("array.jsonl", Array((ok + "\n[1, 2]\n").utf8), ":2: expected a JSON object"),
            ("notext.jsonl", Array((ok + "\n{\"_id\": \"b\", \"title\": \"t\"}\n").utf8), ":2: missing string field \"text\""),
            ("noid.jsonl", Array((ok + "\n{\"text\": \"t\"}\n").utf8), ":2: missing field \"_id\""),
            ("dup.jsonl", Array((ok + "\n" + ok.replacingOccurrences(of: "fine", with: "other") + "\n").utf8), ":2: duplicate _id 'a'"),
            ("title.jsonl", Array((ok + "\n{\"_id\": \"b\", \"text\": \"t\", \"title\": [1]}\n").utf8), ":2: field \"title\" must be a string"),
        ]
        for (name, bytes, expect) in cases {
            let path = write(name, bytes)
            var readError = "", indexError = ""
            XCTAssertThrowsError(try TextRecords.read(path)) { readError = "\($0)" }
            XCTAssertThrowsError(try TextRecordIndex(path: path)) { indexError = "\($0)" }
            XCTAssertEqual(indexError, readError, name)
            XCTAssertEqual(indexError, path + expect, name)
        }
        let missing = dir.appendingPathComponent("missing.txt").path
        var readError = "", indexError = ""
        XCTAssertThrowsError(try TextRecords.read(missing)) { readError = "\($0)" }
        XCTAssertThrowsError(try TextRecordIndex(path: missing)) { indexError = "\($0)" }
        XCTAssertEqual(indexError, readError)
        XCTAssertTrue(indexError.contains(missing), indexError)
    }

    /// A record rewritten in place after indexing is reported, naming its line, not returned wrong.
    func testRecordChangedAfterIndexingIsAnError() throws {
        let path = write("changed.jsonl", "{\"_id\": \"a\", \"text\": \"one\"}\n\n{\"_id\": \"b\", \"text\": \"two\"}\n")
        let index = try TextRecordIndex(path: path)
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try h.seek(toOffset: 30)  // the first byte of line 3
        try h.write(contentsOf: Data("#".utf8))
        try h.close()
        XCTAssertEqual(try index.texts(in: 0..<1), ["one"])
        XCTAssertThrowsError(try index.texts(in: 1..<2)) { XCTAssertTrue("\($0)".hasPrefix(path + ":3: "), "\($0)") }
    }
}
