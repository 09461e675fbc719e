import Foundation
import Formats
#if canImport(Glibc)
import Glibc
#endif

/// Output files of the CLI: refusing an output that is one of the command's inputs, writing
/// through a temporary file, and errors that give the OS's reason.

/// The OS's reason for errno `e` (strerror).
func osReason(_ e: Int32 = errno) -> String { String(cString: strerror(e)) }

/// Throws when `output` names the same file as one of `inputs` (after following symbolic links:
/// same device and inode, which also catches hard links), or when its temporary file
/// `output.partial` does. Called before any input is read, so a refused run changes nothing.
func refuseOutputOverInputs(_ output: String, flag: String, inputs: [String]) throws {
    func identity(_ p: String) -> (UInt64, UInt64)? {
        var st = stat()
        guard stat(p, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }
    let ins = inputs.compactMap { p in identity(p).map { (p, $0) } }
    for candidate in [output, output + ".partial"] {
        guard let o = identity(candidate) else { continue }
        if let hit = ins.first(where: { $0.1 == o }) {
            throw CLIError("--\(flag) \(output) is the input \(hit.0)\(candidate == output ? "" : " (through its temporary file \(candidate))"): refusing to overwrite an input", usage: true)
        }
    }
}

/// Throws unless a file can be created at `path`: its directory exists and is writable, and `path` is
/// not a directory (the final rename would fail after all the work; the message is the one that
/// failure would give). Checked before the work, so a long run does not end with nowhere to put its
/// result; nothing is touched.
func checkCanWrite(_ path: String, flag: String) throws {
    let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
    guard access(dir, W_OK | X_OK) == 0 else { throw CLIError("--\(flag) \(path): cannot write into \(dir): \(osReason())") }
    var st = stat()
    if stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { throw CLIError("cannot write \(path): \(osReason(EISDIR)) (--\(flag) needs a file name)") }
}

/// Throws unless `path` can be read twice from its start, as a regular file (or a device) can:
/// a pipe, FIFO or socket (`--input /dev/stdin` from a pipe) would be empty the second time, or block.
func requireRereadable(_ path: String, flag: String) throws {
    var st = stat()
    guard stat(path, &st) == 0 else { return }   // the reader reports a missing file with its reason
    let type = st.st_mode & S_IFMT
    if type == S_IFIFO || type == S_IFSOCK || type == S_IFDIR {
        throw CLIError("--\(flag) \(path): input must be a regular file (it is read twice: once to check and count, once to embed)", usage: true)
    }
}

/// Writes `data` to `path` through `path.partial` (`DurableFile`: created fresh, fsync'd, renamed
/// into place, directory fsync'd): a failure leaves neither a partial file nor a changed `path`.
func writeFileAtomically(_ data: Data, to path: String) throws {
    do { try DurableFile.write(data, to: path) } catch let e as DataError { throw CLIError(e.description) }
}

/// An error as one line for the user: Foundation's file errors become `path: reason` (the OS's
/// strerror) instead of an NSError dump.
func describeError(_ error: Error) -> String {
    if error is CLIError { return "\(error)" }
    let ns = error as NSError
    guard ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain else { return "\(error)" }
    let path = (ns.userInfo[NSFilePathErrorKey] as? String) ?? (ns.userInfo[NSURLErrorKey] as? URL)?.path
    var posix: Int32?
    if ns.domain == NSPOSIXErrorDomain { posix = Int32(ns.code) }
    if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain { posix = Int32(u.code) }
    let reason: String
    if let posix { reason = osReason(posix) } else {
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: reason = osReason(ENOENT)
        case .fileReadNoPermission, .fileWriteNoPermission: reason = osReason(EACCES)
        case .fileWriteOutOfSpace: reason = osReason(ENOSPC)
        case .fileWriteVolumeReadOnly: reason = osReason(EROFS)
        case .fileWriteFileExists: reason = osReason(EEXIST)
        default: reason = ns.localizedDescription
        }
    }
    return path.map { "\($0): \(reason)" } ?? reason
}
