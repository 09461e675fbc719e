import Foundation
#if canImport(Glibc)
import Glibc
#endif

// Line-oriented input files (JSON lines, TSV, plain text): every reader in Strata goes
// through these, so a bad line is always reported as FILE:LINE: problem.

/// Reads a UTF-8 text file and calls `body` with each line and its 1-based number; blank lines
/// are skipped unless `keepBlank` (a final newline never makes an extra line).
/// A trailing "\r" is removed. Invalid UTF-8 is an error naming the line.
public func forEachLine(of url: URL, keepBlank: Bool = false, _ body: (Substring, Int) throws -> Void) throws {
    try forEachLine(of: url, keepBlank: keepBlank, maxLines: maxLineBytes) { line, n, _ in try body(line, n) }
}

/// Bytes `forEachLine(of:)` reads from the file at a time.
let lineReaderBlockSize = 4 << 20

/// The longest line (in bytes, without its "\n") any line-oriented reader accepts: 64 MiB. A longer
/// line is an error naming the file and line, found after reading at most this much of it (so
/// `/dev/zero` or a file with no newline fails fast instead of filling memory).
public let maxLineBytes = 64 << 20

/// `forEachLine(of:)` that also gives each line's byte range in the file (without "\n" or the trailing
/// "\r"), so a reader can come back to it with `readBytes`. The file is read in blocks of a few MiB
/// and each byte is scanned for "\n" once (linear time): memory stays bounded by one block plus the
/// longest line, at most `maxLines` bytes (default `maxLineBytes`); a longer line is an error naming it.
/// A file changed while it is read gives wrong lines or an error, never a crash (nothing is memory-mapped).
public func forEachLine(of url: URL, keepBlank: Bool = false, maxLines: Int = maxLineBytes,
                        _ body: (Substring, Int, Range<Int>) throws -> Void) throws {
    let handle: FileHandle
    do { handle = try FileHandle(forReadingFrom: url) } catch {
        throw DataError.unreadable(file: url.path, reason: reason(error))
    }
    defer { try? handle.close() }
    var pending = Data()      // the start of a line whose end is in a later block (already scanned: no "\n")
    var pendingOffset = 0     // its byte offset in the file
    var nextLine = 1
    let newline = UInt8(ascii: "\n")
    func tooLong() -> DataError {
        DataError(file: url.path, line: nextLine, "line longer than \(maxLines) bytes (the most a line may hold; is this a text file?)")
    }
    while true {
        let block: Data
        do { block = try handle.read(upToCount: lineReaderBlockSize) ?? Data() } catch {
            throw DataError.malformed(file: url.path, line: nextLine, problem: "cannot read: \(reason(error))")
        }
        let atEnd = block.isEmpty
        // Only the new bytes are scanned for the last "\n": `pending` holds none.
        let cut: Int
        if atEnd {
            cut = block.endIndex
        } else if let newlineAt = block.lastIndex(of: newline) {
            cut = newlineAt + 1
        } else {
            if pending.count + block.count > maxLines { throw tooLong() }
            pending.append(block)
            continue
        }
        var complete = pending
        complete.append(block[block.startIndex..<cut])
        let base = complete.startIndex
        nextLine += try forEachLine(in: complete, file: url, keepBlank: keepBlank, firstLine: nextLine, maxLines: maxLines) { line, n, r in
            try body(line, n, (pendingOffset + r.lowerBound - base)..<(pendingOffset + r.upperBound - base))
        }
        pendingOffset += complete.count
        pending = Data(block[cut...])
        if pending.count > maxLines { throw tooLong() }
        if atEnd { return }
    }
}

/// `forEachLine(of:)` over bytes in memory (`data`, lines of the file `url`, named in errors), numbering
/// lines from `firstLine`; `body` also gets the line's byte range in `data` (without "\n" or the
/// trailing "\r"). Returns the number of lines `data` holds (blank ones included). A line longer than
/// `maxLines` bytes is an error naming it.
@discardableResult
public func forEachLine(in data: Data, file url: URL, keepBlank: Bool = false, firstLine: Int = 1, maxLines: Int = maxLineBytes,
                        _ body: (Substring, Int, Range<Data.Index>) throws -> Void) throws -> Int {
    var lineNo = firstLine - 1
    var start = data.startIndex
    let newline = UInt8(ascii: "\n")
    while start < data.endIndex {
        lineNo += 1
        let end = data[start...].firstIndex(of: newline) ?? data.endIndex
        var slice = data[start..<end]
        if slice.count > maxLines {
            throw DataError(file: url.path, line: lineNo, "line longer than \(maxLines) bytes (the most a line may hold; is this a text file?)")
        }
        if slice.last == UInt8(ascii: "\r") { slice = slice.dropLast() }
        start = end < data.endIndex ? data.index(after: end) : end
        if slice.isEmpty && !keepBlank { continue }
        guard let line = String(data: slice, encoding: .utf8) else {
            throw DataError(file: url.path, line: lineNo, "invalid UTF-8")
        }
        if !keepBlank && line.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
        try body(Substring(line), lineNo, slice.startIndex..<slice.endIndex)
    }
    return lineNo - firstLine + 1
}

/// The OS's reason inside a Foundation file error (strerror), else its description.
func reason(_ error: Error) -> String {
    let ns = error as NSError
    if ns.domain == NSPOSIXErrorDomain { return systemReason(Int32(ns.code)) }
    if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain { return systemReason(Int32(u.code)) }
    if ns.domain == NSCocoaErrorDomain {
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return systemReason(ENOENT)
        case .fileReadNoPermission: return systemReason(EACCES)
        default: break
        }
    }
    return ns.localizedDescription
}

/// `count` bytes at `offset` of the open file `fd` (pread: positional, safe from any thread).
/// Throws when the file no longer holds them.
public func readBytes(fd: Int32, offset: Int, count: Int, file: String) throws -> Data {
    var data = Data(count: count)
    let got = data.withUnsafeMutableBytes { buf -> Int in
        var done = 0
        while done < count {
            let n = pread(fd, buf.baseAddress! + done, count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            done += n
        }
        return done
    }
    guard got == count else { throw DataError(file: file, "cannot read \(count) bytes at offset \(offset): the file is shorter (changed?)") }
    return data
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

