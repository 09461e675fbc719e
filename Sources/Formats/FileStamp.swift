import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What identifies one version of a file without reading it: device, inode, size and modification
/// time (nanoseconds). A file appended to, rewritten or replaced gets another stamp (barring a
/// rewrite of the same size within the file system's time resolution).
public struct FileStamp: Sendable, Equatable, CustomStringConvertible {
    public var device: UInt64, inode: UInt64, size: Int, modifiedNanoseconds: Int

    public init(device: UInt64, inode: UInt64, size: Int, modifiedNanoseconds: Int) {
        self.device = device; self.inode = inode; self.size = size; self.modifiedNanoseconds = modifiedNanoseconds
    }

    init(_ st: stat) {
        self.init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int(st.st_size),
                  modifiedNanoseconds: Int(st.st_mtim.tv_sec) &* 1_000_000_000 &+ Int(st.st_mtim.tv_nsec))
    }

    /// The stamp of the file at `path` (following links), or nil when it cannot be stat'ed.
    public static func of(path: String) -> FileStamp? {
        var st = stat()
        return stat(path, &st) == 0 ? FileStamp(st) : nil
    }

    /// The stamp of the open file `fd`, or nil.
    public static func of(fd: Int32) -> FileStamp? {
        var st = stat()
        return fstat(fd, &st) == 0 ? FileStamp(st) : nil
    }

    public var description: String { "\(size) bytes, modified at \(modifiedNanoseconds) ns, inode \(inode)" }
}
