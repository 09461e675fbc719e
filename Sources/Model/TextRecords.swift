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
        let url = URL(fileURLWithPath: path)
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw ModelError.invalidInput("cannot read input file \(path)")
        }
        var records: [TextRecord] = []
        if !(path.hasSuffix(".jsonl") || path.hasSuffix(".json")) {
            try forEachLine(of: url, keepBlank: true) { line, n in records.append(TextRecord(id: String(n), text: String(line))) }
            return records
        }
        var seen = Set<String>()
        try forEachLine(of: url) { line, n in
            let obj = try jsonObject(line, file: url, line: n)
            guard let text = obj["text"] as? String else { throw DataError(file: path, line: n, "missing string field \"text\"") }
            guard let id = try stringField(obj, "_id", file: url, line: n) else { throw DataError(file: path, line: n, "missing field \"_id\"") }
            guard seen.insert(id).inserted else { throw DataError(file: path, line: n, "duplicate _id '\(id)'") }
            let title = try stringField(obj, "title", file: url, line: n) ?? ""
            records.append(TextRecord(id: id, text: title.isEmpty ? text : title + " " + text))
        }
        return records
    }
}
