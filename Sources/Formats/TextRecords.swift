import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One input text with its id (BEIR `_id`, or the 1-based line number for plain text files).
public struct TextRecord: Sendable, Equatable {
    public var id: String
    public var text: String
    public init(id: String, text: String) { self.id = id; self.text = text }

    /// The one rule for the text of a record with a title (BEIR's dense retrieval, as
    /// sentence-transformers evaluates it): `title + " " + text` with surrounding whitespace
    /// trimmed; without a title (nil or empty) the text alone, trimmed. Every reader of BEIR-style
    /// records (`strata embed`, cluster jobs, `eval`, `mine`) embeds exactly this string.
    public static func joined(title: String?, text: String) -> String {
        guard let title, !title.isEmpty else { return text.trimmingCharacters(in: .whitespacesAndNewlines) }
        return (title + " " + text).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Reads texts for embedding: `.jsonl` (BEIR style `{"_id", "text"}` with optional `"title"`,
/// joined by `TextRecord.joined(title:text:)`) or any other file as one text per line (as is).
/// Invalid UTF-8, a malformed JSON line, a duplicate `_id`, a NUL byte in a text or id, or a line
/// longer than `maxLineBytes` is an error naming the file and line.
public enum TextRecords {
    /// Every record of the file, in file order.
    public static func read(_ path: String) throws -> [TextRecord] {
        var records: [TextRecord] = []
        try forEach(path) { records.append($0) }
        return records
    }

    /// Checks the whole file and returns its number of records, holding no texts: the pass a
    /// streaming reader makes first, so that bad input fails before any work is done.
    public static func count(_ path: String) throws -> Int {
        var n = 0
        try forEach(path) { _ in n += 1 }
        return n
    }

    /// Streams the records of the file to `body`, in file order, one block of lines in memory at a
    /// time (plus the set of ids seen, for the duplicate check).
    public static func forEach(_ path: String, _ body: (TextRecord) throws -> Void) throws {
        try forEach(path) { record, _, _ in try body(record) }
    }

    /// Whether `path` is read as BEIR JSON lines (else as one text per line).
    public static func isJSONLines(_ path: String) -> Bool { path.hasSuffix(".jsonl") || path.hasSuffix(".json") }

    /// `forEach` that also gives each record's 1-based line number and the byte range of its line in the file.
    public static func forEach(_ path: String, _ body: (TextRecord, Int, Range<Int>) throws -> Void) throws {
        guard access(path, R_OK) == 0 else { throw DataError.unreadable(file: path, reason: systemReason()) }
        let url = URL(fileURLWithPath: path)
        if !isJSONLines(path) {
            try forEachLine(of: url, keepBlank: true) { line, n, r in
                try body(try checked(TextRecord(id: String(n), text: String(line)), path: path, line: n), n, r)
            }
            return
        }
        var seen = Set<String>()
        try forEachLine(of: url) { line, n, r in try body(try jsonRecord(line, path: path, line: n, seen: &seen), n, r) }
    }

    /// One BEIR record from its JSON line (`TextRecord.joined(title:text:)`), checked
    /// in this order: JSON object, "text", "_id", a new id (recorded in `seen`), "title".
    static func jsonRecord(_ line: Substring, path: String, line n: Int, seen: inout Set<String>) throws -> TextRecord {
        let url = URL(fileURLWithPath: path)
        let obj = try jsonObject(line, file: url, line: n)
        guard let text = obj["text"] as? String else { throw DataError(file: path, line: n, "missing string field \"text\"") }
        guard let id = try stringField(obj, "_id", file: url, line: n) else { throw DataError(file: path, line: n, "missing field \"_id\"") }
        guard seen.insert(id).inserted else { throw DataError(file: path, line: n, "duplicate _id '\(id)'") }
        let title = try stringField(obj, "title", file: url, line: n) ?? ""
        return try checked(TextRecord(id: id, text: TextRecord.joined(title: title, text: text)), path: path, line: n)
    }

    /// The one rule every record obeys beyond its syntax: no NUL byte (U+0000) in its text or id,
    /// raw or as JSON's "\u0000". The cluster's wire format refuses NUL in a string, so such a record
    /// would stall a job; `strata embed` refuses it too, so both accept exactly the same files.
    static func checked(_ record: TextRecord, path: String, line n: Int) throws -> TextRecord {
        if record.text.utf8.contains(0) { throw DataError(file: path, line: n, "the text contains a NUL byte (U+0000), which is not allowed") }
        if record.id.utf8.contains(0) { throw DataError(file: path, line: n, "the _id contains a NUL byte (U+0000), which is not allowed") }
        return record
    }
}
