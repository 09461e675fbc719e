import Foundation
import XCTest
import Model

/// Inputs found by scripts/fuzz (libFuzzer) that crashed a reader: each must now be a clear
/// corrupt-file error. (Before the fixes every one of them trapped the process.)
final class FuzzRegressionTests: XCTestCase {
    private func assertCorrupt(_ body: () throws -> Void, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), what, file: file, line: line) { e in
            guard case ModelError.corruptFile = e else { return XCTFail("\(what): \(e)", file: file, line: line) }
        }
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
