import Foundation
import XCTest
import Formats

/// The one title+text rule, the record reader's errors (file:line), CRC-32 and JSON lines.
final class TextRecordsTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("strata-records") }

    /// BEIR's rule: `(title + " " + text).strip()` with a title, `text.strip()` without one.
    func testTitleTextRule() {
        XCTAssertEqual(TextRecord.joined(title: "A title", text: "the text"), "A title the text")
        XCTAssertEqual(TextRecord.joined(title: nil, text: "the text"), "the text")
        XCTAssertEqual(TextRecord.joined(title: "", text: "the text"), "the text", "an empty title adds nothing (strip removes the space)")
        XCTAssertEqual(TextRecord.joined(title: " T ", text: " x \n"), "T   x", "only the ends are trimmed")
        XCTAssertEqual(TextRecord.joined(title: nil, text: "  padded\t"), "padded")
        XCTAssertEqual(TextRecord.joined(title: "Title only", text: ""), "Title only")
    }

    /// The JSONL reader applies that rule to every record; plain text lines are kept as they are.
    func testReaderUsesTheRule() throws {
        let jl = dir.appendingPathComponent("c.jsonl")
        try """
        {"_id": "a", "title": "T", "text": "x"}
        {"_id": "b", "title": "", "text": " y "}
        {"_id": "c", "title": null, "text": "z"}
        {"_id": "d", "text": "w\\n"}
        """.write(to: jl, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TextRecords.read(jl.path).map(\.text), ["T x", "y", "z", "w"])
        let txt = dir.appendingPathComponent("c.txt")
        try " kept as is \n".write(to: txt, atomically: true, encoding: .utf8)
        XCTAssertEqual(try TextRecords.read(txt.path), [TextRecord(id: "1", text: " kept as is ")])
    }

    func testRecordErrorsNameFileAndLine() throws {
        let bad = dir.appendingPathComponent("bad.txt")
        try (Data("ok\n".utf8) + Data([0xC3, 0x28]) + Data("\n".utf8)).write(to: bad)
        XCTAssertThrowsError(try TextRecords.read(bad.path)) {
            XCTAssertEqual($0 as? DataError, .malformed(file: bad.path, line: 2, problem: "invalid UTF-8"))
            XCTAssertEqual("\($0)", bad.path + ":2: invalid UTF-8")
        }
        let jl = dir.appendingPathComponent("c.jsonl")
        try "{\"_id\":\"a\",\"title\":\"T\",\"text\":\"x\"}\n{\"_id\":\"b\"}\n".write(to: jl, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TextRecords.read(jl.path)) { XCTAssertEqual("\($0)", jl.path + ":2: missing string field \"text\"") }
        let missing = dir.appendingPathComponent("missing.jsonl").path
        XCTAssertThrowsError(try TextRecords.count(missing)) {
            XCTAssertEqual($0 as? DataError, .unreadable(file: missing, reason: "No such file or directory"))
            XCTAssertEqual("\($0)", missing + ": cannot read: No such file or directory")
        }
    }

    func testDataErrorParts() {
        let e = DataError(file: "f.jsonl", line: 3, "bad")
        XCTAssertEqual(e.file, "f.jsonl"); XCTAssertEqual(e.line, 3); XCTAssertEqual(e.message, "bad")
        XCTAssertEqual("\(DataError(file: "f.npy", "corrupt"))", "f.npy: corrupt")
        XCTAssertEqual("\(DataError.unwritable(file: "o.partial", reason: "Permission denied"))", "cannot write o.partial: Permission denied")
        XCTAssertNil(DataError.unwritable(file: "o", reason: "r").line)
    }

    func testCRC32KnownValueAndContinuation() {
        XCTAssertEqual(CRC32.checksum(Array("123456789".utf8)), 0xCBF4_3926)   // the standard check value
        XCTAssertEqual(CRC32.checksum([]), 0)
        let whole = Array("The quick brown fox jumps over the lazy dog".utf8)
        XCTAssertEqual(CRC32.checksum(whole), 0x414F_A339)
        for cut in [0, 1, 20, whole.count] {
            let first = whole[..<cut].withUnsafeBytes { CRC32.checksum($0) }
            XCTAssertEqual(whole[cut...].withUnsafeBytes { CRC32.checksum($0, crc: first) }, 0x414F_A339, "cut at \(cut)")
        }
    }

    func testJSONLineIsSortedAndOnOneLine() throws {
        XCTAssertEqual(try jsonLine(["text": "a/b\nc", "_id": "1"]), #"{"_id":"1","text":"a/b\nc"}"#)
    }
}
