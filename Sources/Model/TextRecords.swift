import Foundation

/// One input text with its id (BEIR `_id`, or the 1-based line number for plain text files).
public struct TextRecord: Sendable, Equatable {
    public var id: String
    public var text: String
    public init(id: String, text: String) { self.id = id; self.text = text }
}

/// Reads texts for embedding: `.jsonl` (BEIR style `{"_id", "text"}` with optional `"title"`,
/// joined as "title text") or any other file as one text per line.
/// Invalid UTF-8 or a malformed JSON line is an error naming the file and line.
public enum TextRecords {
    public static func read(_ path: String) throws -> [TextRecord] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelError.invalidInput("cannot read input file \(path)")
        }
        let jsonl = path.hasSuffix(".jsonl") || path.hasSuffix(".json")
        var records: [TextRecord] = []
        var lineNo = 0
        var seen = Set<String>()
        for raw in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNo += 1
            var bytes = raw
            if bytes.last == 0x0D { bytes = bytes.dropLast() }
            guard let line = String(validating: bytes, as: UTF8.self) else {
                throw ModelError.invalidInput("\(path):\(lineNo): invalid UTF-8")
            }
            if jsonl {
                if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
                guard let obj = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                    throw ModelError.invalidInput("\(path):\(lineNo): not a JSON object")
                }
                guard let text = obj["text"] as? String else {
                    throw ModelError.invalidInput("\(path):\(lineNo): missing string field \"text\"")
                }
                let id: String
                if let s = obj["_id"] as? String { id = s } else if let n = obj["_id"] as? NSNumber { id = n.stringValue }
                else { throw ModelError.invalidInput("\(path):\(lineNo): missing field \"_id\"") }
                guard seen.insert(id).inserted else { throw ModelError.invalidInput("\(path):\(lineNo): duplicate _id '\(id)'") }
                let title = (obj["title"] as? String) ?? ""
                records.append(TextRecord(id: id, text: title.isEmpty ? text : title + " " + text))
            } else {
                records.append(TextRecord(id: String(lineNo), text: line))
            }
        }
        // A trailing newline does not make an extra empty text.
        if !jsonl, data.last == 0x0A || data.isEmpty, let last = records.last, last.text.isEmpty { records.removeLast() }
        return records
    }
}
