import Foundation
import Formats
import Index
import Kernels
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// A shard's vectors on disk: `<name>.vec` and `<name>.ids`, memory-mapped when opened.
///
/// `.vec` layout (little-endian): magic "STRVEC01" (8 bytes), version u32 = 2, dimension u32,
/// count u64, first global document index u64, CRC-32 of the float data u32, model fingerprint
/// u32 (`StoreFingerprint.model`), CRC-32 of the shard's texts u32 (`StoreFingerprint.texts`),
/// reserved u32 (48-byte header), then float32 rows [count, dimension]. `.ids`: one document id per line,
/// in row order. Opening verifies sizes and the checksum: a corrupt store is an error naming the file.
public final class VectorStore: @unchecked Sendable {
    public static let magic: [UInt8] = Array("STRVEC01".utf8)
    public static let version: UInt32 = 2
    public static let headerBytes = 48

    public let dimension: Int
    public let count: Int
    public let firstDocIndex: Int
    public let ids: [String]
    public let checksum: UInt32
    /// The fingerprint of the model that embedded the rows (0 when written without one).
    public let modelFingerprint: UInt32
    /// The CRC-32 of the texts the rows embed (0 when written without one).
    public let textsChecksum: UInt32
    /// The shard's vectors in the Index module's exact search (copied from the verified mapping).
    let index: FlatIndex
    private let base: UnsafeMutableRawPointer
    private let length: Int

    /// The vectors, [count, dimension], backed by the mapping.
    public var rows: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: (base + Self.headerBytes).assumingMemoryBound(to: Float.self), count: count * dimension)
    }

    public struct StoreError: Error, CustomStringConvertible {
        public let path: String; public let problem: String
        public var description: String { "vector store \(path): \(problem)" }
    }

    /// Writes a store atomically (temporary files, fsync, rename). Returns the data checksum.
    @discardableResult
    public static func write(directory: URL, name: String, vectors: Vectors, firstDocIndex: Int, ids: [String],
                             modelFingerprint: UInt32 = 0, textsChecksum: UInt32 = 0) throws -> UInt32 {
        precondition(ids.count == vectors.rows, "VectorStore.write: \(ids.count) ids for \(vectors.rows) rows")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let crc = vectors.data.withUnsafeBytes { CRC32.checksum($0) }
        var header = magic
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { header += $0 } }
        put(version); put(UInt32(vectors.dimension)); put(UInt64(vectors.rows)); put(UInt64(firstDocIndex)); put(crc)
        put(modelFingerprint); put(textsChecksum); put(UInt32(0))
        var bytes = Data(header)
        vectors.data.withUnsafeBytes { bytes.append(contentsOf: $0) }
        let idText = ids.map { $0 + "\n" }.joined()
        try writeDurably(Data(idText.utf8), to: directory.appendingPathComponent(name + ".ids"))
        try writeDurably(bytes, to: directory.appendingPathComponent(name + ".vec"))
        return crc
    }

    /// Writes `data` to `url` via `url.tmp` (`DurableFile`: fsync, rename, directory fsync).
    public static func writeDurably(_ data: Data, to url: URL) throws {
        try DurableFile.write(data, to: url.path, temporaryPath: url.path + ".tmp")
    }

    /// Opens and verifies a store.
    public init(directory: URL, name: String) throws {
        let path = directory.appendingPathComponent(name + ".vec").path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw StoreError(path: path, problem: "cannot open (errno \(errno))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError(path: path, problem: "cannot stat") }
        let size = Int(st.st_size)
        guard size >= Self.headerBytes else { throw StoreError(path: path, problem: "\(size) bytes is shorter than the \(Self.headerBytes)-byte header") }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw StoreError(path: path, problem: "mmap failed (errno \(errno))")
        }
        func fail(_ why: String) -> StoreError { munmap(p, size); return StoreError(path: path, problem: why) }
        func read<T: FixedWidthInteger>(_ off: Int, _: T.Type) -> T { T(littleEndian: p.loadUnaligned(fromByteOffset: off, as: T.self)) }
        guard Array(UnsafeRawBufferPointer(start: p, count: 8)) == Self.magic else { throw fail("bad magic (not a Strata vector store)") }
        guard read(8, UInt32.self) == Self.version else { throw fail("unsupported version \(read(8, UInt32.self))") }
        let dim = Int(read(12, UInt32.self)), n = Int(read(16, UInt64.self))
        let first = Int(read(24, UInt64.self)), crc = read(32, UInt32.self)
        let modelFP = read(36, UInt32.self), textsCRC = read(40, UInt32.self)
        guard dim > 0, n >= 0, n <= (size - Self.headerBytes) / 4 / dim, Self.headerBytes + n * dim * 4 == size else {
            throw fail("header says [\(n), \(dim)] but the file holds \(size - Self.headerBytes) data bytes")
        }
        let actual = CRC32.checksum(UnsafeRawBufferPointer(start: p + Self.headerBytes, count: n * dim * 4))
        guard actual == crc else { throw fail(String(format: "checksum mismatch: header %08x, data %08x (corrupt)", crc, actual)) }
        let idsPath = directory.appendingPathComponent(name + ".ids")
        guard let idData = FileManager.default.contents(atPath: idsPath.path), let idText = String(data: idData, encoding: .utf8) else {
            throw fail("ids file \(idsPath.path) missing or not UTF-8")
        }
        var idList = idText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if idList.last == "" { idList.removeLast() }
        guard idList.count == n else { throw fail("ids file holds \(idList.count) ids for \(n) rows") }
        base = p; length = size; dimension = dim; count = n; firstDocIndex = first; ids = idList; checksum = crc
        modelFingerprint = modelFP; textsChecksum = textsCRC
        index = FlatIndex(dimension: dim)
        index.add(Matrix(rows: n, cols: dim, data: Array(UnsafeBufferPointer(start: (p + Self.headerBytes).assumingMemoryBound(to: Float.self), count: n * dim))))
    }

    deinit { munmap(base, length) }

    /// Exact top-k of one query over this shard (FlatIndex), as global hits with their ids: the
    /// worker's SearchShardReply (the wire edge).
    public func search(_ query: [Float], k: Int) -> [Hit] {
        ExactSearch.search(index, firstIndex: firstDocIndex, query: query, k: k).map { $0.wire(id: ids[$0.index - firstDocIndex]) }
    }
}
