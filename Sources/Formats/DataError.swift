import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A data file that could not be read, parsed or written. Every case names the file, and a
/// malformed record also its 1-based line, so the message alone tells the user what to fix:
/// `FILE:LINE: problem`, `FILE: problem`, or `cannot write FILE: reason`.
public enum DataError: Error, CustomStringConvertible, Equatable {
    /// The file's content is wrong: a bad line (when `line` is known) or a bad file as a whole
    /// (a corrupt `.npy` header, a file that changed while it was read).
    case malformed(file: String, line: Int?, problem: String)
    /// The file could not be opened or read (missing, no permission, an I/O error): `reason` is the OS's.
    case unreadable(file: String, reason: String)
    /// The file (or its temporary file) could not be created, written, synced or renamed into place.
    case unwritable(file: String, reason: String)

    /// A malformed record of `file` at `line` (or the file as a whole when `line` is nil).
    public init(file: String, line: Int? = nil, _ problem: String) {
        self = .malformed(file: file, line: line, problem: problem)
    }

    /// The file the error is about.
    public var file: String {
        switch self {
        case .malformed(let f, _, _), .unreadable(let f, _), .unwritable(let f, _): return f
        }
    }

    /// The 1-based line of a malformed record; nil for whole-file problems.
    public var line: Int? {
        if case .malformed(_, let line, _) = self { return line }
        return nil
    }

    /// The problem without the file and line.
    public var message: String {
        switch self {
        case .malformed(_, _, let p): return p
        case .unreadable(_, let r): return "cannot read: \(r)"
        case .unwritable(_, let r): return "cannot write: \(r)"
        }
    }

    public var description: String {
        switch self {
        case .malformed(let f, let line?, let p): return "\(f):\(line): \(p)"
        case .malformed(let f, nil, let p): return "\(f): \(p)"
        case .unreadable(let f, let r): return "\(f): cannot read: \(r)"
        case .unwritable(let f, let r): return "cannot write \(f): \(r)"
        }
    }
}

/// The OS's reason for errno `e` (strerror), as error messages give it.
func systemReason(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }
