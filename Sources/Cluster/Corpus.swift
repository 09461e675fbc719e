import Foundation
import Model
import Wire

/// A cluster-side failure with a message naming the file or setting at fault.
public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads a corpus exactly as `strata embed` does (the Model module's `TextRecords`: BEIR
/// .jsonl with title and text joined, or one text a line with 1-based line numbers as ids), so
/// job output and ids match a single-process run.
public enum CorpusReader {
    public static func read(_ path: String) throws -> [Document] {
        try TextRecords.read(path).map { Document(id: $0.id, text: $0.text) }
    }
}

/// NumPy .npy (format 1.0) for float32 matrices, as numpy.save writes them (header padded to 64 bytes).
public enum NPY {
    /// The header `strata embed` writes (Model's NumpyFile), so outputs are byte-identical.
    public static func header(rows: Int, cols: Int) -> Data { NumpyFile.header(rows: rows, cols: cols) }

    public static func encode(_ v: Vectors) -> Data {
        var d = header(rows: v.rows, cols: v.dimension)
        v.data.withUnsafeBytes { d.append(contentsOf: $0) }
        return d
    }

    /// Reads a float32 [rows, cols] .npy written by `encode` (or numpy with the same dtype).
    public static func decode(_ d: Data) throws -> Vectors {
        let b = [UInt8](d)
        guard b.count >= 10, b[0] == 0x93, Array(b[1...5]) == Array("NUMPY".utf8) else { throw ClusterError("not an .npy file") }
        let hlen = Int(b[8]) | Int(b[9]) << 8
        guard b.count >= 10 + hlen, let h = String(bytes: b[10..<(10 + hlen)], encoding: .ascii), h.contains("'<f4'"),
              let open = h.firstIndex(of: "("), let close = h.firstIndex(of: ")") else { throw ClusterError("unsupported .npy header") }
        let dims = h[h.index(after: open)..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard dims.count == 2, b.count == 10 + hlen + dims[0] * dims[1] * 4 else { throw ClusterError(".npy shape does not match its size") }
        var data = [Float](repeating: 0, count: dims[0] * dims[1])
        data.withUnsafeMutableBytes { dst in b.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[(10 + hlen)...])) } }
        return Vectors(rows: dims[0], dimension: dims[1], data: data)
    }
}
