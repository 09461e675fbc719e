import Foundation

/// A read-only index of an input file of texts: the file is memory-mapped once and checked
/// record by record exactly as `TextRecords.forEach` checks it (same rules, same errors naming
/// file:line), but only the byte range of each record's line is kept, never its text. Texts and
/// ids are parsed again, from the mapped bytes, for the records asked for; they equal
/// `TextRecords.read`'s texts and ids at the same positions.
///
/// Memory: 16 bytes a record (two Int arrays) plus the mapping, whose pages the kernel reads on
/// demand and may drop again (they are clean file pages; they count in the resident set while
/// mapped in). Immutable after `init`, so it can be built on one thread and read on another.
public final class TextRecordIndex: Sendable {
    /// The indexed file, as given.
    public let path: String
    private let data: Data
    private let jsonLines: Bool
    /// Byte offset in the file and byte length of each record's line (without "\n" or "\r").
    private let starts: [Int]
    private let lengths: [Int]

    /// Maps and checks the whole file; throws the first bad record as `TextRecords.read` would.
    public init(path: String) throws {
        let data = try TextRecords.map(path)
        var starts: [Int] = [], lengths: [Int] = []
        try TextRecords.forEach(in: data, path: path) { _, range in
            starts.append(range.lowerBound - data.startIndex)
            lengths.append(range.count)
        }
        self.path = path
        self.data = data
        jsonLines = TextRecords.isJSONLines(path)
        self.starts = starts
        self.lengths = lengths
    }

    /// Number of records.
    public var count: Int { starts.count }

    /// Bytes of the lines of the records in `range`: an upper bound on the UTF-8 bytes of their
    /// texts (equal for plain text files; JSON syntax and escapes only add bytes).
    public func byteCount(in range: Range<Int>) -> Int { lengths[range].reduce(0, +) }

    /// The records in `range` (positions 0..<count), parsed again from the file.
    /// Throws only when the file changed after it was indexed.
    public func records(in range: Range<Int>) throws -> [TextRecord] { try range.map(record) }

    /// The texts of the records in `range`.
    public func texts(in range: Range<Int>) throws -> [String] { try range.map { try record($0).text } }

    /// The ids of the records in `range` (for plain text files, 1-based line numbers, with no parsing).
    public func ids(in range: Range<Int>) throws -> [String] {
        jsonLines ? try range.map { try record($0).id } : range.map { String($0 + 1) }
    }

    private func record(_ i: Int) throws -> TextRecord {
        let start = data.startIndex + starts[i]
        if let line = String(data: data[start..<(start + lengths[i])], encoding: .utf8) {
            if !jsonLines { return TextRecord(id: String(i + 1), text: line) }
            var seen = Set<String>()
            if let r = try? TextRecords.jsonRecord(Substring(line), path: path, line: 0, seen: &seen) { return r }
        }
        let line = data[data.startIndex..<start].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        throw DataError(file: path, line: line, "no longer the record indexed there: the file changed after it was indexed")
    }
}
