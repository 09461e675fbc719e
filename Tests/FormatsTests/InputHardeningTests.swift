import XCTest
import Formats

/// Inputs an attack used against the readers: a NUL byte (which the cluster's wire refuses, so a
/// job stalled while `embed` accepted it), an endless line (memory grew with no bound), and a record
/// rewritten in place after indexing (a job paired the new id with the old text's vector).
final class InputHardeningTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("strata-hardening") }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// `body` throws a `DataError` whose text starts with `prefix` and contains `words`.
    func assertDataError(_ prefix: String, _ words: String, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            XCTAssertTrue(e is DataError, "\(type(of: e)): \(e)", file: file, line: line)
            XCTAssertTrue("\(e)".hasPrefix(prefix), "\(e)", file: file, line: line)
            XCTAssertTrue("\(e)".contains(words), "\(e)", file: file, line: line)
        }
    }

    func testNulByteIsADataErrorNamingTheLine() throws {
        let plain = try write("nul.txt", Array("ok\na".utf8) + [0] + Array("b\nc\n".utf8))
        assertDataError(plain + ":2: ", "NUL") { _ = try TextRecords.read(plain) }
        assertDataError(plain + ":2: ", "NUL") { _ = try TextRecordIndex(path: plain) }

        let json = try write("nul.jsonl", Array("{\"_id\": \"1\", \"text\": \"fine\"}\n\n{\"_id\": \"2\", \"text\": \"a\\u0000b\"}\n".utf8))
        assertDataError(json + ":3: ", "NUL") { _ = try TextRecords.count(json) }
        assertDataError(json + ":3: ", "NUL") { _ = try TextRecordIndex(path: json) }
        let title = try write("nultitle.jsonl", Array("{\"_id\": \"1\", \"title\": \"x\\u0000\", \"text\": \"t\"}\n".utf8))
        assertDataError(title + ":1: ", "NUL") { _ = try TextRecords.read(title) }
        let id = try write("nulid.jsonl", Array("{\"_id\": \"1\\u0000\", \"text\": \"t\"}\n".utf8))
        assertDataError(id + ":1: ", "_id contains a NUL") { _ = try TextRecords.read(id) }
    }

    func testLineLongerThanTheLimitIsAnErrorNamingIt() throws {
        // Line 2 is 5 MiB (longer than one 4 MiB read block); the limit here is 1 MiB.
        var bytes = Array("short\n".utf8)
        bytes += [UInt8](repeating: UInt8(ascii: "x"), count: 5 << 20)
        bytes += Array("\nlast\n".utf8)
        let path = try write("long.txt", bytes)
        let url = URL(fileURLWithPath: path)
        var seen: [Int] = []
        assertDataError(path + ":2: ", "longer than 1048576 bytes") {
            try forEachLine(of: url, maxLines: 1 << 20) { _, n, _ in seen.append(n) }
        }
        XCTAssertEqual(seen, [1])
        // Under the default limit (64 MiB) the same file reads whole, the long line intact.
        var lines: [(Int, Int)] = []
        try forEachLine(of: url) { line, n, r in lines.append((n, line.utf8.count)); XCTAssertEqual(r.count, line.utf8.count) }
        XCTAssertEqual(lines.map(\.0), [1, 2, 3])
        XCTAssertEqual(lines.map(\.1), [5, 5 << 20, 4])
    }

    func testDevZeroFailsAfterTheLimitNotAtTheEndOfMemory() throws {
        assertDataError("/dev/zero:1: ", "longer than \(maxLineBytes) bytes") { _ = try TextRecords.count("/dev/zero") }
    }

    func testRecordRewrittenInPlaceWithTheSameLengthIsAnError() throws {
        let path = try write("swap.jsonl", Array("{\"_id\": \"a\", \"text\": \"one\"}\n{\"_id\": \"b\", \"text\": \"two\"}\n".utf8))
        let index = try TextRecordIndex(path: path)
        // Rewrite line 2 with valid JSON of the same length: another id and another text.
        let h = try XCTUnwrap(FileHandle(forWritingAtPath: path))
        try h.seek(toOffset: 28)
        try h.write(contentsOf: Data("{\"_id\": \"c\", \"text\": \"six\"}".utf8))
        try h.close()
        XCTAssertEqual(try TextRecords.read(path).map(\.id), ["a", "c"], "the rewritten file is itself valid")
        XCTAssertEqual(try index.ids(in: 0..<1), ["a"])
        assertDataError(path + ":2: ", "changed after it was indexed") { _ = try index.ids(in: 1..<2) }
        assertDataError(path + ":2: ", "changed after it was indexed") { _ = try index.texts(in: 0..<2) }

        let plain = try write("swap.txt", Array("alpha\nbravo\n".utf8))
        let plainIndex = try TextRecordIndex(path: plain)
        let p = try XCTUnwrap(FileHandle(forWritingAtPath: plain))
        try p.seek(toOffset: 6)
        try p.write(contentsOf: Data("delta".utf8))
        try p.close()
        assertDataError(plain + ":2: ", "changed after it was indexed") { _ = try plainIndex.texts(in: 1..<2) }
    }
}
