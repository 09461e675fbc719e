import Foundation

// Line-oriented input files (JSON lines, TSV, plain text): every reader in Strata goes
// through these, so a bad line is always reported as FILE:LINE: problem.

/// An input file that could not be read or parsed; names the file and, when known, the line.
public struct DataError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var line: Int?
    public var message: String

    public init(file: String, line: Int? = nil, _ message: String) {
        self.file = file; self.line = line; self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

/// Memory-maps a file for reading (pages are read on first touch, so a file larger than memory
/// streams through); a file that cannot be opened is a DataError naming it.
public func mapFile(_ url: URL) throws -> Data {
    do { return try Data(contentsOf: url, options: .alwaysMapped) } catch {
        throw DataError(file: url.path, "cannot read: \(error.localizedDescription)")
    }
}

/// Reads a UTF-8 text file and calls `body` with each line and its 1-based number; blank lines
/// are skipped unless `keepBlank` (a final newline never makes an extra line).
/// A trailing "\r" is removed. Invalid UTF-8 is an error naming the line. The file is memory-mapped,
/// so a corpus larger than memory streams through page by page.
public func forEachLine(of url: URL, keepBlank: Bool = false, _ body: (Substring, Int) throws -> Void) throws {
    try forEachLine(in: try mapFile(url), file: url, keepBlank: keepBlank) { line, n, _ in try body(line, n) }
}

/// `forEachLine(of:)` over bytes already in memory or mapped (`data` holds the whole file `url`,
/// named in errors); `body` also gets the line's byte range in `data` (without "\n" or the
/// trailing "\r"), so a reader can come back to that line later.
public func forEachLine(in data: Data, file url: URL, keepBlank: Bool = false, _ body: (Substring, Int, Range<Data.Index>) throws -> Void) throws {
    var lineNo = 0
    var start = data.startIndex
    let newline = UInt8(ascii: "\n")
    while start < data.endIndex {
        lineNo += 1
        let end = data[start...].firstIndex(of: newline) ?? data.endIndex
        var slice = data[start..<end]
        if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
        start = end < data.endIndex ? data.index(after: end) : end
        if slice.isEmpty && !keepBlank { continue }
        guard let line = String(data: slice, encoding: .utf8) else {
            throw DataError(file: url.path, line: lineNo, "invalid UTF-8")
        }
        if !keepBlank && line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
        try body(Substring(line), lineNo, slice.startIndex..<slice.endIndex)
    }
}

/// Parses one JSON-lines record into an object, or throws naming the file and line.
public func jsonObject(_ line: Substring, file: URL, line lineNo: Int) throws -> [String: Any] {
    let obj: Any
    do { obj = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed]) } catch {
        throw DataError(file: file.path, line: lineNo, "not valid JSON")
    }
    guard let dict = obj as? [String: Any] else {
        throw DataError(file: file.path, line: lineNo, "expected a JSON object")
    }
    return dict
}

/// A string field (numbers are accepted for ids and written in decimal); nil when absent.
public func stringField(_ dict: [String: Any], _ key: String, file: URL, line: Int) throws -> String? {
    guard let v = dict[key], !(v is NSNull) else { return nil }
    if let s = v as? String { return s }
    if let n = v as? NSNumber { return n.stringValue }
    throw DataError(file: file.path, line: line, "field \"\(key)\" must be a string")
}

