import Foundation
import Wire

/// Reads a corpus: BEIR `corpus.jsonl` ({"_id", "text", optional "title"}; title and text are
/// joined with a space as sentence-transformers does) or plain text (one document a line, id =
/// the 0-based line number). Errors name the file and the line.
public enum CorpusReader {
    public struct CorpusError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func read(_ path: String) throws -> [Document] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CorpusError(description: "\(path): cannot read the corpus file") }
        guard let text = String(data: data, encoding: .utf8) else { throw CorpusError(description: "\(path): not valid UTF-8") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        if lines.last == "" { lines.removeLast() }
        guard path.hasSuffix(".jsonl") else {
            return lines.enumerated().map { Document(id: String($0.offset), text: $0.element) }
        }
        var docs: [Document] = []
        for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw CorpusError(description: "\(path):\(i + 1): not a JSON object")
            }
            let id: String
            if let s = obj["_id"] as? String { id = s } else if let n = obj["_id"] as? NSNumber { id = n.stringValue } else {
                throw CorpusError(description: "\(path):\(i + 1): missing \"_id\"")
            }
            guard let body = obj["text"] as? String else { throw CorpusError(description: "\(path):\(i + 1): missing \"text\"") }
            let title = obj["title"] as? String ?? ""
            docs.append(Document(id: id, text: title.isEmpty ? body : title + " " + body))
        }
        return docs
    }
}

/// NumPy .npy (format 1.0) for float32 matrices, as numpy.save writes them (header padded to 64 bytes).
public enum NPY {
    public static func header(rows: Int, cols: Int) -> [UInt8] {
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(cols)), }"
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
        let n = UInt16(dict.utf8.count)
        out += [UInt8(n & 0xFF), UInt8(n >> 8)]
        return out + Array(dict.utf8)
    }

    public static func encode(_ v: Vectors) -> Data {
        var d = Data(header(rows: v.rows, cols: v.dimension))
        v.data.withUnsafeBytes { d.append(contentsOf: $0) }
        return d
    }

    /// Reads a float32 [rows, cols] .npy written by `encode` (or numpy with the same dtype).
    public static func decode(_ d: Data) throws -> Vectors {
        let b = [UInt8](d)
        guard b.count >= 10, b[0] == 0x93, Array(b[1...5]) == Array("NUMPY".utf8) else { throw CorpusReader.CorpusError(description: "not an .npy file") }
        let hlen = Int(b[8]) | Int(b[9]) << 8
        guard b.count >= 10 + hlen, let h = String(bytes: b[10..<(10 + hlen)], encoding: .ascii), h.contains("'<f4'"),
              let open = h.firstIndex(of: "("), let close = h.firstIndex(of: ")") else { throw CorpusReader.CorpusError(description: "unsupported .npy header") }
        let dims = h[h.index(after: open)..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard dims.count == 2, b.count == 10 + hlen + dims[0] * dims[1] * 4 else { throw CorpusReader.CorpusError(description: ".npy shape does not match its size") }
        var data = [Float](repeating: 0, count: dims[0] * dims[1])
        data.withUnsafeMutableBytes { dst in b.withUnsafeBytes { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[(10 + hlen)...])) } }
        return Vectors(rows: dims[0], dimension: dims[1], data: data)
    }
}
