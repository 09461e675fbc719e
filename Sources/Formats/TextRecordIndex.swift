import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only index of an input file of texts: the file is read once and checked record by
/// record exactly as `TextRecords.forEach` checks it (same rules, same errors naming file:line),
/// but only the byte range of each record's line is kept, never its text. Texts and ids are read
/// again (pread on the open file) and parsed for the records asked for; they equal
/// `TextRecords.read`'s texts and ids at the same positions.
///
/// Each record's CRC-32 (of its id and text) is kept and checked on every read, so a record
/// rewritten after indexing, even in place with the same length and valid syntax, is an error
/// ("the file changed after it was indexed"), never another record's text or id.
///
/// Memory: about 28 bytes a record (offsets, lengths, CRCs, and line numbers for JSON lines);
/// nothing is memory-mapped, so a file changed or truncated under the index gives an error naming
/// the line, never a crash. Immutable after
/// `init`, so it can be built on one thread and read on another.
public final class TextRecordIndex: Sendable {
    /// The indexed file, as given.
    public let path: String
    /// The file's stamp when it was opened, after it was read and checked (nil if fstat failed):
    /// a path whose stamp differs now no longer holds the file that was indexed.
    public let stamp: FileStamp?
    private let fd: Int32
    private let jsonLines: Bool
    /// Byte offset in the file and byte length of each record's line (without "\n" or "\r").
    private let starts: [Int]
    private let lengths: [Int]
    /// 1-based line number of each record (JSON lines only; blank lines are skipped there).
    private let lineNumbers: [Int]
    /// `TextRecordIndex.checksum` of each record as indexed.
    private let crcs: [UInt32]

    /// Reads and checks the whole file; throws the first bad record as `TextRecords.read` would.
    public init(path: String) throws {
        var starts: [Int] = [], lengths: [Int] = [], lineNumbers: [Int] = [], crcs: [UInt32] = []
        let jsonLines = TextRecords.isJSONLines(path)
        try TextRecords.forEach(path) { record, line, range in
            crcs.append(Self.checksum(record))
            starts.append(range.lowerBound)
            lengths.append(range.count)
            if jsonLines { lineNumbers.append(line) }   // for errors about records that changed later
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DataError.unreadable(file: path, reason: systemReason()) }
        self.path = path
        self.fd = fd
        self.stamp = FileStamp.of(fd: fd)
        self.jsonLines = jsonLines
        self.starts = starts
        self.lengths = lengths
        self.lineNumbers = lineNumbers
        self.crcs = crcs
    }

    deinit { close(fd) }

    /// Number of records.
    public var count: Int { starts.count }

    /// Bytes of the lines of the records in `range`: an upper bound on the UTF-8 bytes of their
    /// texts (equal for plain text files; JSON syntax and escapes only add bytes).
    public func byteCount(in range: Range<Int>) -> Int { lengths[range].reduce(0, +) }

    /// The records in `range` (positions 0..<count), read again from the file in one read.
    /// Throws only when the file changed after it was indexed.
    public func records(in range: Range<Int>) throws -> [TextRecord] {
        guard let first = range.first, let last = range.last else { return [] }
        let base = starts[first]
        let bytes = try readBytes(fd: fd, offset: base, count: starts[last] + lengths[last] - base, file: path)
        return try range.map { i in
            let lo = bytes.startIndex + starts[i] - base
            return try record(i, bytes[lo..<(lo + lengths[i])])
        }
    }

    /// The texts of the records in `range`.
    public func texts(in range: Range<Int>) throws -> [String] { try records(in: range).map(\.text) }

    /// The ids of the records in `range` (for plain text files, 1-based line numbers, with no reading).
    public func ids(in range: Range<Int>) throws -> [String] {
        jsonLines ? try records(in: range).map(\.id) : range.map { String($0 + 1) }
    }

    /// CRC-32 of a record's id, a NUL (which no id or text holds) and its text, as UTF-8.
    static func checksum(_ record: TextRecord) -> UInt32 {
        var bytes = Array(record.id.utf8)
        bytes.append(0)
        bytes.append(contentsOf: record.text.utf8)
        return CRC32.checksum(bytes)
    }

    private func record(_ i: Int, _ bytes: Data) throws -> TextRecord {
        if let line = String(data: bytes, encoding: .utf8) {
            var seen = Set<String>()
            let r = jsonLines ? try? TextRecords.jsonRecord(Substring(line), path: path, line: 0, seen: &seen)
                              : try? TextRecords.checked(TextRecord(id: String(i + 1), text: line), path: path, line: i + 1)
            if let r, Self.checksum(r) == crcs[i] { return r }
        }
        let line = jsonLines ? lineNumbers[i] : i + 1
        throw DataError(file: path, line: line, "no longer the record indexed there: the file changed after it was indexed")
    }
}
