import Foundation

/// A float32 matrix as a `.npy` file holds it: `rows` x `cols` values, row-major.
public struct NumpyMatrix: Equatable, Sendable {
    public var rows: Int
    public var cols: Int
    /// The values, row after row: [rows, cols].
    public var data: [Float]

    public init(rows: Int, cols: Int, data: [Float]) {
        precondition(data.count == rows * cols, "NumpyMatrix: \(data.count) values for [\(rows), \(cols)]")
        self.rows = rows; self.cols = cols; self.data = data
    }
}

/// NumPy `.npy` (format 1.0) for float32 matrices: what `numpy.load` reads as float32 [rows, cols].
/// Files are written only by `NumpyWriter` (the header by `header(rows:cols:)`), so any two
/// writers of the same rows give the same bytes.
public enum NumpyFile {
    /// The 6 magic bytes that start every `.npy` file: "\x93NUMPY".
    public static let magic = Data([0x93]) + Data("NUMPY".utf8)

    /// The header of a C-order little-endian float32 [rows, cols] array (format 1.0): magic,
    /// version 1.0, the header length (u16 LE), then the dictionary padded with spaces and ended by
    /// "\n" so that the data starts on a multiple of 64 bytes, as the NPY spec asks.
    public static func header(rows: Int, cols: Int) -> Data {
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(cols)), }"
        let total = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var d = magic + Data([1, 0])
        withUnsafeBytes(of: UInt16(dict.utf8.count).littleEndian) { d.append(contentsOf: $0) }
        d.append(Data(dict.utf8))
        return d
    }

    /// The bytes of a whole `.npy` file holding `values` ([rows, cols], row-major).
    public static func encode(rows: Int, cols: Int, values: [Float]) -> Data {
        precondition(values.count == rows * cols, "NumpyFile.encode: \(values.count) values for [\(rows), \(cols)]")
        var d = header(rows: rows, cols: cols)
        values.withUnsafeBytes { d.append(contentsOf: $0) }
        return d
    }

    /// The bytes of a whole `.npy` file holding `m`.
    public static func encode(_ m: NumpyMatrix) -> Data { encode(rows: m.rows, cols: m.cols, values: m.data) }

    /// Writes a whole matrix durably (`NumpyWriter`: temporary file, fsync, rename).
    public static func write(_ m: NumpyMatrix, to path: String) throws {
        let w = try NumpyWriter(path: path, rows: m.rows, cols: m.cols)
        try w.append(m.data)
        try w.finish()
    }

    /// Reads a float32 [rows, cols] `.npy` file.
    public static func read(_ path: String) throws -> NumpyMatrix {
        let d: Data
        do { d = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DataError.unreadable(file: path, reason: reason(error))
        }
        return try decode(d, name: path)
    }

    /// Decodes the bytes of a float32 [rows, cols] `.npy` file (format 1.0, 2.0 or 3.0, C order,
    /// little-endian); `name` appears in errors. Anything else is `DataError.malformed`.
    public static func decode(_ bytes: Data, name path: String = "<npy>") throws -> NumpyMatrix {
        func corrupt(_ why: String) -> DataError { DataError(file: path, "corrupt .npy file: \(why)") }
        let d = Data(bytes)   // re-based to index 0
        guard d.count >= 10, d.prefix(6) == magic else { throw corrupt("not a .npy file") }
        let major = d[6]
        let hlen: Int, start: Int
        if major == 1 { hlen = Int(d[8]) | Int(d[9]) << 8; start = 10 }
        else if (major == 2 || major == 3) && d.count >= 12 {
            hlen = d.subdata(in: 8..<12).withUnsafeBytes { Int($0.loadUnaligned(as: UInt32.self).littleEndian) }; start = 12
        } else { throw corrupt("unsupported .npy version \(major) or truncated header") }
        guard start + hlen <= d.count, let header = String(data: d.subdata(in: start..<(start + hlen)), encoding: .ascii) else {
            throw corrupt("truncated .npy header")
        }
        guard header.contains("'<f4'"), header.contains("'fortran_order': False"),
              let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
            throw corrupt("only C-order little-endian float32 arrays are read (header: \(header))")
        }
        let dims = header[open.upperBound..<close].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard dims.count == 2, dims[0] >= 0, dims[1] >= 0 else { throw corrupt("expected a 2-d array, header: \(header)") }
        let body = start + hlen
        let (values, o1) = dims[0].multipliedReportingOverflow(by: dims[1])
        let (byteCount, o2) = values.multipliedReportingOverflow(by: 4)
        guard !o1, !o2, d.count - body == byteCount else { throw corrupt("\(d.count - body) data bytes for shape \(dims)") }
        var out = [Float](repeating: 0, count: values)
        out.withUnsafeMutableBytes { dst in d.withUnsafeBytes { src in dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[body...])) } }
        return NumpyMatrix(rows: dims[0], cols: dims[1], data: out)
    }
}

/// The one streaming `.npy` writer: the header for [rows, cols] first, then rows appended a
/// piece at a time (memory holds one piece, never the file), through a `DurableFile` (temporary
/// file, fsync, rename, directory fsync). `strata embed` and a cluster job's chunk files and
/// assembled output all go through it, so the same rows give the same bytes by construction.
/// `finish()` checks that exactly `rows` rows were appended.
public final class NumpyWriter {
    public let rows: Int
    public let cols: Int
    /// Rows appended so far.
    public private(set) var rowsWritten = 0
    private let file: DurableFile

    /// Creates the temporary file and writes the header. `temporaryPath`: see `DurableFile`
    /// (default `path + ".partial"`); `checksum`: keep the CRC-32 of the whole file in `crc32`.
    public init(path: String, rows: Int, cols: Int, temporaryPath: String? = nil, checksum: Bool = false) throws {
        precondition(rows >= 0 && cols >= 0, "NumpyWriter: negative shape [\(rows), \(cols)]")
        self.rows = rows; self.cols = cols
        file = try DurableFile(path: path, temporaryPath: temporaryPath, checksum: checksum)
        try file.write(NumpyFile.header(rows: rows, cols: cols))
    }

    /// The final path.
    public var path: String { file.path }
    /// The temporary path the bytes go to until `finish()`.
    public var temporaryPath: String { file.temporaryPath }
    /// CRC-32 of every byte written so far, header included (0 unless created with `checksum: true`).
    public var crc32: UInt32 { file.crc32 }

    /// Appends whole rows: `values.count` must be a multiple of `cols`, and the total must not pass `rows`.
    public func append(_ values: UnsafeBufferPointer<Float>) throws {
        let n = cols == 0 ? 0 : values.count / cols
        guard values.count == n * cols else {
            throw DataError(file: file.temporaryPath, "\(values.count) values are not whole rows of \(cols)")
        }
        guard rowsWritten + n <= rows else {
            throw DataError(file: file.temporaryPath, "\(rowsWritten + n) rows appended to a file of \(rows)")
        }
        try file.write(UnsafeRawBufferPointer(values))
        rowsWritten += n
    }

    /// Appends whole rows ([n, cols], row-major).
    public func append(_ values: [Float]) throws { try values.withUnsafeBufferPointer { try append($0) } }

    /// Makes the file durable under its final name, after checking that every row was appended.
    public func finish() throws {
        guard rowsWritten == rows else {
            file.discard()
            throw DataError(file: file.temporaryPath, "\(rowsWritten) rows written for a header of \(rows)")
        }
        try file.commit()
    }

    /// Removes the temporary file of an unfinished write (no-op after `finish`).
    public func discard() { file.discard() }
}
