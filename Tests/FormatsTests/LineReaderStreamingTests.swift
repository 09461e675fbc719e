import XCTest
import Formats
import Kernels

/// The block-streaming line reader against the in-memory one, on a file several read blocks long
/// with lines (CRLF, blank, multi-byte UTF-8) cut by the block boundaries; and an index whose
/// file was truncated under it fails with an error, where a memory-mapped reader would crash.
final class LineReaderStreamingTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("strata-lines") }

    struct Line: Equatable { var text: String; var number: Int; var range: Range<Int> }

    func testStreamingEqualsInMemoryAcrossBlocks() throws {
        // About 10 MiB: two and a half 4 MiB read blocks. Line lengths vary (1 to ~3,000 bytes) so
        // that boundaries fall inside lines, inside "\r\n" pairs and inside multi-byte characters.
        var rng = SplitMix64(seed: 7)
        var text = ""
        let pieces = ["é", "日本", "🍕", "a", " ", "word", "\t"]
        while text.utf8.count < 10 << 20 {
            let n = Int.random(in: 0...700, using: &rng)
            var line = ""
            for _ in 0..<n { line += pieces.randomElement(using: &rng)! }
            text += line + (Bool.random(using: &rng) ? "\r\n" : "\n")
        }
        text += "last line without newline é"
        let url = dir.appendingPathComponent("big.txt")
        try Data(text.utf8).write(to: url)
        let data = try Data(contentsOf: url)
        for keepBlank in [true, false] {
            var streamed: [Line] = [], inMemory: [Line] = []
            try forEachLine(of: url, keepBlank: keepBlank) { streamed.append(Line(text: String($0), number: $1, range: $2)) }
            try forEachLine(in: data, file: url, keepBlank: keepBlank) { line, n, r in
                inMemory.append(Line(text: String(line), number: n, range: (r.lowerBound - data.startIndex)..<(r.upperBound - data.startIndex)))
            }
            XCTAssertGreaterThan(streamed.count, 1000)
            XCTAssertEqual(streamed.count, inMemory.count)
            XCTAssertTrue(streamed == inMemory, "keepBlank \(keepBlank): first difference at \(streamed.indices.first { $0 < inMemory.count && streamed[$0] != inMemory[$0] } ?? -1)")
            for l in streamed.prefix(50) + streamed.suffix(50) {
                XCTAssertEqual(String(decoding: data[l.range], as: UTF8.self), l.text, "the range points at the line")
            }
        }
    }

    func testInvalidUTF8AfterTheFirstBlockNamesItsLine() throws {
        let url = dir.appendingPathComponent("bad.txt")
        var bytes = Data(String(repeating: String(repeating: "x", count: 99) + "\n", count: 50_000).utf8)  // 50,000 lines, 5 MB
        bytes.append(contentsOf: [0x61, 0xFF, 0x0A])
        try bytes.write(to: url)
        XCTAssertThrowsError(try forEachLine(of: url) { _, _ in }) { XCTAssertEqual("\($0)", url.path + ":50001: invalid UTF-8") }
    }

    func testIndexOfATruncatedFileFailsInsteadOfCrashing() throws {
        let url = dir.appendingPathComponent("corpus.txt")
        try Data((1...2_000).map { "document number \($0)\n" }.joined().utf8).write(to: url)
        let index = try TextRecordIndex(path: url.path)
        XCTAssertEqual(try index.texts(in: 1_998..<2_000), ["document number 1999", "document number 2000"])
        let h = try FileHandle(forWritingTo: url)
        try h.truncate(atOffset: 100)
        try h.close()
        XCTAssertEqual(try index.texts(in: 0..<2), ["document number 1", "document number 2"])
        XCTAssertThrowsError(try index.texts(in: 1_998..<2_000)) { XCTAssertTrue("\($0)".contains("the file is shorter"), "\($0)") }
    }
}
