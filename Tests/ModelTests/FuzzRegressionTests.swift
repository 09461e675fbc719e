import Foundation
import XCTest
import Model

/// Inputs found by scripts/fuzz (libFuzzer) that crashed a reader: each must now be a clear
/// corrupt-file error. (Before the fixes every one of them trapped the process.)
final class FuzzRegressionTests: XCTestCase {
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
            guard case ModelError.corruptFile = e else { return XCTFail("\(what): \(e)", file: file, line: line) }
        }
    }

    /// fuzz npy: "\x93NUMPY" with version byte 0 and 10 bytes in all read 4 header-length bytes past the end.
    func testNumpyUnknownVersionAndShortHeader() {
        assertCorrupt({ _ = try NumpyFile.decode(Data([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0, 0, 0, 0])) }, "version 0, 10 bytes")
        assertCorrupt({ _ = try NumpyFile.decode(Data([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 2, 0, 0, 0])) }, "version 2, 10 bytes")
    }

    /// Shapes whose byte count overflows Int, or negative dimensions whose product looks right.
    func testNumpyOverflowingAndNegativeShapes() {
        assertCorrupt({ _ = try NumpyFile.decode(npy(shape: "(9223372036854775807, 2)", data: 8)) }, "rows * cols * 4 overflows")
        assertCorrupt({ _ = try NumpyFile.decode(npy(shape: "(4611686018427387904, 1)", data: 0)) }, "rows * 4 overflows to 0")
        assertCorrupt({ _ = try NumpyFile.decode(npy(shape: "(-1, -4)", data: 16)) }, "negative dimensions")
        XCTAssertEqual(try NumpyFile.decode(npy(shape: "(2, 3)", data: 24)).rows, 2, "a valid file still reads")
    }

    private func safetensors(_ bytes: Data) throws -> SafeTensorsFile {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString).safetensors")
        try bytes.write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try SafeTensorsFile(path: url.path)
    }

    /// fuzz safetensors: a header length over Int.max trapped in its conversion to Int.
    func testSafeTensorsHeaderLengthOverIntMax() {
        let bytes = Data([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) + "{}".data(using: .ascii)!
        assertCorrupt({ _ = try safetensors(bytes) }, "header length 2^64-1")
    }

    /// A data offset near Int.max overflowed `dataStart + end`.
    func testSafeTensorsOffsetOverflow() throws {
        let header = #"{"w":{"dtype":"X9","shape":[1],"data_offsets":[0,9223372036854775807]}}"#.data(using: .utf8)!
        var n = UInt64(header.count).littleEndian
        let bytes = Data(bytes: &n, count: 8) + header + Data(count: 8)
        assertCorrupt({ _ = try safetensors(bytes) }, "end offset Int.max")
        let ok = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#.data(using: .utf8)!
        var m = UInt64(ok.count).littleEndian
        XCTAssertEqual(try safetensors(Data(bytes: &m, count: 8) + ok + Data(count: 8)).entries["w"]?.end, 8, "a valid file still reads")
    }
}
