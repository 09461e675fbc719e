import Foundation
import Kernels

/// NumPy `.npy` (format 1.0) for float32 matrices: what `numpy.load` reads as float32 [n, dim].
public enum NumpyFile {
    /// The header of a C-order little-endian float32 [rows, cols] array, padded so data starts on 64 bytes.
    public static func header(rows: Int, cols: Int) -> Data {
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(cols)), }"
        let total = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var d = Data([0x93]) + "NUMPY".data(using: .ascii)! + Data([1, 0])
        withUnsafeBytes(of: UInt16(dict.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(dict.data(using: .ascii)!)
        return d
    }

    /// The bytes of a whole `.npy` file holding `m`.
    public static func encode(_ m: Matrix) -> Data {
        var d = header(rows: m.rows, cols: m.cols)
        m.data.withUnsafeBytes { d.append(contentsOf: $0) }
        return d
    }

    /// Writes a whole matrix atomically.
    public static func write(_ m: Matrix, to path: String) throws {
        try encode(m).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Reads a float32 [rows, cols] `.npy` file.
    public static func read(_ path: String) throws -> Matrix {
        guard let d = FileManager.default.contents(atPath: path) else { throw ModelError.fileMissing(path) }
        return try decode(d, name: path)
    }

    /// Decodes the bytes of a float32 [rows, cols] `.npy` file; `name` appears in errors.
    public static func decode(_ bytes: Data, name path: String = "<npy>") throws -> Matrix {
        let d = Data(bytes)   // re-based to index 0
        guard d.count >= 10, d.prefix(6) == Data([0x93]) + "NUMPY".data(using: .ascii)! else {
            throw ModelError.corruptFile(file: path, reason: "not a .npy file")
        }
        let major = d[d.startIndex + 6]
        let hlen: Int, start: Int
        if major == 1 { hlen = Int(d[d.startIndex + 8]) | Int(d[d.startIndex + 9]) << 8; start = 10 }
        else if (major == 2 || major == 3) && d.count >= 12 {
            hlen = d.subdata(in: 8..<12).withUnsafeBytes { Int($0.loadUnaligned(as: UInt32.self).littleEndian) }; start = 12
        } else { throw ModelError.corruptFile(file: path, reason: "unsupported .npy version \(major) or truncated header") }
        guard start + hlen <= d.count, let header = String(data: d.subdata(in: start..<(start + hlen)), encoding: .ascii) else {
            throw ModelError.corruptFile(file: path, reason: "truncated .npy header")
        }
        guard header.contains("'<f4'"), header.contains("'fortran_order': False"),
              let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw ModelError.corruptFile(file: path, reason: "only C-order little-endian float32 arrays are read (header: \(header))")
        }
        let dims = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard dims.count == 2, dims[0] >= 0, dims[1] >= 0 else { throw ModelError.corruptFile(file: path, reason: "expected a 2-d array, header: \(header)") }
        let body = start + hlen
        let (values, o1) = dims[0].multipliedReportingOverflow(by: dims[1])
        let (bytes, o2) = values.multipliedReportingOverflow(by: 4)
        guard !o1, !o2, d.count - body == bytes else {
            throw ModelError.corruptFile(file: path, reason: "\(d.count - body) data bytes for shape \(dims)")
        }
        var m = Matrix(rows: dims[0], cols: dims[1])
        m.data.withUnsafeMutableBytes { dst in d.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[body...])) } }
        return m
    }
}
