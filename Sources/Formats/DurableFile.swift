import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one way Strata writes a file it must not lose or leave half-written: the bytes go to a
/// fresh temporary file beside it, which is fsync'd, renamed over the final name, and then the
/// directory is fsync'd so that the rename itself survives a crash. Readers see the old file or
/// the whole new one, never a part; a failure removes the temporary file and leaves the final
/// name as it was.
///
/// Use `DurableFile.write(_:to:)` for bytes in memory, or create one, `write` pieces as they are
/// made (memory stays flat however large the file is), then `commit()`; `discard()` (or dropping
/// an uncommitted one) removes the temporary file. Not thread-safe: one writer, one thread.
public final class DurableFile {
    /// The final path.
    public let path: String
    /// The temporary path the bytes go to until `commit()`.
    public let temporaryPath: String
    /// Bytes written so far.
    public private(set) var byteCount = 0
    /// CRC-32 of the bytes written so far (0 unless created with `checksum: true`).
    public private(set) var crc32: UInt32 = 0
    private let checksum: Bool
    private var fd: Int32
    private var state = State.open

    private enum State { case open, committed, discarded }

    /// Creates the temporary file (`temporaryPath`, default `path + ".partial"`), replacing a stale
    /// one left by a killed run. It is created fresh (O_EXCL: never written through a link someone
    /// put there) with `mode`, masked by the umask, or exactly `mode` whatever the umask when
    /// `exactMode` (a secret key must never be readable by others, not even briefly).
    /// `checksum`: keep the CRC-32 of what is written in `crc32`.
    public init(path: String, temporaryPath: String? = nil, mode: mode_t = 0o644, exactMode: Bool = false, checksum: Bool = false) throws {
        self.path = path
        let tmp = temporaryPath ?? path + ".partial"
        self.temporaryPath = tmp
        self.checksum = checksum
        unlink(tmp)
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw DataError.unwritable(file: tmp, reason: systemReason()) }
        if exactMode && fchmod(fd, mode) != 0 {
            let e = errno
            close(fd); unlink(tmp); state = .discarded
            throw DataError.unwritable(file: tmp, reason: systemReason(e))
        }
    }

    deinit { discard() }

    /// Appends `bytes` to the temporary file. On failure the temporary file is removed.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(state == .open, "DurableFile.write after commit or discard")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var off = 0
        while off < bytes.count {
            let n = Glibc.write(fd, base + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                discard()
                throw DataError.unwritable(file: temporaryPath, reason: systemReason(e))
            }
            off += n
        }
        byteCount += bytes.count
        if checksum { crc32 = CRC32.checksum(bytes, crc: crc32) }
    }

    /// Appends `data` to the temporary file.
    public func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }

    /// Makes the file durable under its final name: fsync, rename over `path`, fsync of the
    /// directory. On failure before the rename the temporary file is removed and `path` is unchanged.
    public func commit() throws {
        precondition(state == .open, "DurableFile.commit after commit or discard")
        if fsync(fd) != 0 {
            let e = errno
            discard()
            throw DataError.unwritable(file: temporaryPath, reason: systemReason(e))
        }
        let closed = close(fd)
        let closeErr = errno
        fd = -1
        guard closed == 0 else {
            discard()
            throw DataError.unwritable(file: temporaryPath, reason: systemReason(closeErr))
        }
        guard rename(temporaryPath, path) == 0 else {
            let e = errno
            discard()
            throw DataError.unwritable(file: path, reason: "cannot move \(temporaryPath) into place: \(systemReason(e))")
        }
        state = .committed
        try Self.syncDirectory(containing: path)
    }

    /// Closes and removes the temporary file of an uncommitted write (no-op after `commit`).
    public func discard() {
        guard state == .open else { return }
        state = .discarded
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
    }

    /// Writes `data` to `path` durably in one call (see the type's description).
    public static func write(_ data: Data, to path: String, temporaryPath: String? = nil, mode: mode_t = 0o644, exactMode: Bool = false) throws {
        let f = try DurableFile(path: path, temporaryPath: temporaryPath, mode: mode, exactMode: exactMode)
        try f.write(data)
        try f.commit()
    }

    /// Writes `path` durably a piece at a time: `body` writes the pieces; when it returns the
    /// file is committed, when it throws the temporary file is removed and the error rethrown.
    @discardableResult
    public static func write<T>(to path: String, temporaryPath: String? = nil, mode: mode_t = 0o644, checksum: Bool = false,
                                _ body: (DurableFile) throws -> T) throws -> T {
        let f = try DurableFile(path: path, temporaryPath: temporaryPath, mode: mode, checksum: checksum)
        do {
            let result = try body(f)
            try f.commit()
            return result
        } catch {
            f.discard()
            throw error
        }
    }

    /// Appends `data` to `path` (created with `mode` if missing) and fsyncs it: an append-only log
    /// whose records survive a crash once this returns. A newly created file has its directory
    /// fsync'd too. The directory must exist.
    public static func append(_ data: Data, to path: String, mode: mode_t = 0o644) throws {
        let created = access(path, F_OK) != 0
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, mode)
        guard fd >= 0 else { throw DataError.unwritable(file: path, reason: systemReason()) }
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, base + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; failure = errno; return }
                off += n
            }
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure != 0 { throw DataError.unwritable(file: path, reason: systemReason(failure)) }
        if created { try syncDirectory(containing: path) }
    }

    /// fsync of the directory holding `path`, so that a rename, creation or removal in it survives a crash.
    public static func syncDirectory(containing path: String) throws {
        try syncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
    }

    /// fsync of the directory `dir` itself.
    public static func syncDirectory(_ dir: String) throws {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw DataError.unwritable(file: dir, reason: "cannot open the directory to fsync it: \(systemReason())") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw DataError.unwritable(file: dir, reason: "fsync of the directory failed: \(systemReason())") }
    }
}
