import Foundation
import XCTest
import Formats

/// The `.npy` reader and the one streaming writer: the NPY 1.0 header (64-byte aligned data),
/// byte identity between streaming and writing at once, and reader errors on corrupt input
/// (inputs found by scripts/fuzz that once trapped the process).
final class NumpyFileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("strata-npy") }

    func values(_ n: Int) -> [Float] { (0..<n).map { Float($0) * 0.25 - 3 } }

    /// The header is what the NPY 1.0 spec asks: magic, version 1.0, a little-endian u16 length, an
    /// ASCII dict ending in "\n", and data starting on a multiple of 64 bytes, for any shape width.
    func testHeaderFollowsTheSpecAndPadsTo64Bytes() throws {
        for (rows, cols) in [(0, 0), (1, 1), (3, 5), (12_345, 384), (1 << 40, 1)] {
            let h = NumpyFile.header(rows: rows, cols: cols)
            XCTAssertEqual(h.count % 64, 0, "[\(rows), \(cols)]: \(h.count) header bytes")
            XCTAssertEqual(Array(h.prefix(8)), [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
            XCTAssertEqual(Int(h[8]) | Int(h[9]) << 8, h.count - 10, "the length field counts the dict")
            let dict = try XCTUnwrap(String(data: h.subdata(in: 10..<h.count), encoding: .ascii))
            XCTAssertTrue(dict.hasPrefix("{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(cols)), }"), dict)
            XCTAssertTrue(dict.hasSuffix("\n"))
            XCTAssertEqual(dict.dropLast().trimmingCharacters(in: .whitespaces).last, "}", "padding is spaces")
        }
    }

    /// The writer's file is the header plus the raw little-endian floats, equals `encode`, and reads back.
    func testWriterBytesAreWhatTheReaderExpects() throws {
        let v = values(3 * 5)
        let path = dir.appendingPathComponent("m.npy").path
        let w = try NumpyWriter(path: path, rows: 3, cols: 5, checksum: true)
        try w.append(v)
        try w.finish()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        var expect = NumpyFile.header(rows: 3, cols: 5)
        v.withUnsafeBytes { expect.append(contentsOf: $0) }
        XCTAssertEqual(bytes, expect)
        XCTAssertEqual(bytes, NumpyFile.encode(rows: 3, cols: 5, values: v))
        XCTAssertEqual(try NumpyFile.read(path), NumpyMatrix(rows: 3, cols: 5, data: v))
        XCTAssertEqual(w.crc32, bytes.withUnsafeBytes { CRC32.checksum($0) }, "the checksum covers the whole file")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
    }

    /// Appending rows in pieces of any size gives the same bytes as appending them at once.
    func testStreamingInPiecesEqualsWritingAtOnce() throws {
        let rows = 37, cols = 7
        let v = values(rows * cols)
        let once = dir.appendingPathComponent("once.npy").path
        try NumpyFile.write(NumpyMatrix(rows: rows, cols: cols, data: v), to: once)
        let reference = try Data(contentsOf: URL(fileURLWithPath: once))
        for piece in [1, 2, 5, 36, 37] {
            let path = dir.appendingPathComponent("piece-\(piece).npy").path
            let w = try NumpyWriter(path: path, rows: rows, cols: cols)
            var r = 0
            while r < rows {
                let n = min(piece, rows - r)
                try w.append(Array(v[(r * cols)..<((r + n) * cols)]))
                r += n
            }
            try w.finish()
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), reference, "pieces of \(piece) rows")
        }
    }

    /// Too few or too many rows, or a piece that is not whole rows, is an error and leaves no file.
    func testWrongRowCountsFailAndLeaveNothing() throws {
        let path = dir.appendingPathComponent("short.npy").path
        let w = try NumpyWriter(path: path, rows: 4, cols: 2)
        try w.append(values(6))
        XCTAssertThrowsError(try w.append(values(4)), "10 rows into a file of 4") { XCTAssertTrue("\($0)".contains("rows appended to a file of 4"), "\($0)") }
        XCTAssertThrowsError(try w.append(values(3)), "a row and a half") { XCTAssertTrue("\($0)".contains("not whole rows of 2"), "\($0)") }
        XCTAssertThrowsError(try w.finish()) { XCTAssertTrue("\($0)".contains("3 rows written for a header of 4"), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
    }

    func testNumpyRoundTripThroughAFile() throws {
        let m = NumpyMatrix(rows: 3, cols: 5, data: (0..<15).map { Float($0) * 0.5 })
        let npy = dir.appendingPathComponent("m.npy").path
        try NumpyFile.write(m, to: npy)
        XCTAssertEqual(try NumpyFile.read(npy), m)
        XCTAssertThrowsError(try NumpyFile.read(dir.appendingPathComponent("missing.npy").path)) {
            XCTAssertTrue("\($0)".contains("missing.npy: cannot read: No such file or directory"), "\($0)")
        }
    }

    // MARK: corrupt input (from scripts/fuzz)

    private func npy(shape: String, data: Int) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
        header += String(repeating: " ", count: (64 - (10 + header.count + 1) % 64) % 64) + "\n"
        var d = Data([0x93]) + "NUMPY".data(using: .ascii)! + Data([1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        d += header.data(using: .ascii)!
        d += Data(count: data)
        return d
    }

    private func assertCorrupt(_ body: () throws -> Void, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { e in
            guard case DataError.malformed(let f, nil, let problem) = e else { return XCTFail("\(what): \(e)", file: file, line: line) }
            XCTAssertEqual(f, "<npy>", file: file, line: line)
            XCTAssertTrue(problem.hasPrefix("corrupt .npy file: "), problem, file: file, line: line)
        }
    }

    /// fuzz npy: "\x93NUMPY" with version byte 0 and 10 bytes in all read 4 header-length bytes past the end.
    func testNumpyUnknownVersionAndShortHeader() {
        assertCorrupt({ _ = try NumpyFile.decode(Data([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0, 0, 0, 0])) }, "version 0, 10 bytes")
        assertCorrupt({ _ = try NumpyFile.decode(Data([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0])) }, "version 2, 10 bytes")
        assertCorrupt({ _ = try NumpyFile.decode(Data("not numpy at all".utf8)) }, "no magic")
    }

    /// Shapes whose byte count overflows Int, or negative dimensions whose product looks right.
    func testNumpyOverflowingAndNegativeShapes() {
        assertCorrupt({ _ = try NumpyFile.decode(npy(shape: "(9223372036854775807, 2)", data: 8)) }, "rows * cols * 4 overflows")
        assertCorrupt({ _ = try NumpyFile.decode(npy(shape: "(4611686018427387904, 1)", data: 0)) }, "rows * 4 overflows to 0")
        assertCorrupt({ _ = try NumpyFile.decode(npy(shape: "(-1, -4)", data: 16)) }, "negative dimensions")
        assertCorrupt({ _ = try NumpyFile.decode(npy(shape: "(2, 3)", data: 20)) }, "truncated data")
        XCTAssertEqual(try NumpyFile.decode(npy(shape: "(2, 3)", data: 24)).rows, 2, "a valid file still reads")
    }
}
