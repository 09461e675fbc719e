import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A memory-mapped `.safetensors` file: 8-byte little-endian header length, a JSON header
/// `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}`, then the raw data.
///
/// The header is validated on open (length, JSON, offsets inside the data, sizes matching shapes),
/// so a corrupt or truncated file fails here with an error naming it, never later with a crash.
public final class SafeTensorsFile {
    /// One tensor's header entry.
    public struct Entry: Sendable {
        public let dtype: String
        public let shape: [Int]
        public let begin: Int
        public let end: Int
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let base: UnsafeMutableRawPointer
    private let size: Int
    private let dataStart: Int

    /// Maps and validates the file.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelError.fileMissing(path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ModelError.fileMissing(path) }
        size = Int(st.st_size)
        guard size >= 8 else { throw ModelError.corruptFile(file: path, reason: "\(size) bytes, shorter than the 8-byte header length") }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw ModelError.corruptFile(file: path, reason: "mmap failed (errno \(errno))")
        }
        base = p
        do {
            // Checked as the file's UInt64 before any conversion: a length past Int.max must be an error, not a trap.
            let raw = p.loadUnaligned(as: UInt64.self).littleEndian
            guard raw > 1, raw <= UInt64(size - 8), raw < 100 << 20 else {
                throw ModelError.corruptFile(file: path, reason: "header length \(raw) does not fit a \(size)-byte file")
            }
            let n = Int(raw)
            dataStart = 8 + n
            let headerData = Data(bytes: p + 8, count: n)
            guard let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
                throw ModelError.corruptFile(file: path, reason: "header is not a JSON object")
            }
            var entries: [String: Entry] = [:]
            var meta: [String: String] = [:]
            for (name, value) in json {
                if name == "__metadata__" {
                    for (k, v) in (value as? [String: Any]) ?? [:] { meta[k] = "\(v)" }
                    continue
                }
                guard let d = value as? [String: Any], let dtype = d["dtype"] as? String,
                      let shape = d["shape"] as? [Int], let offs = d["data_offsets"] as? [Int], offs.count == 2 else {
                    throw ModelError.corruptFile(file: path, reason: "bad header entry for tensor '\(name)'")
                }
                guard shape.allSatisfy({ $0 >= 0 }), offs[0] >= 0, offs[0] <= offs[1], offs[1] <= size - dataStart else {
                    throw ModelError.corruptFile(file: path, reason: "tensor '\(name)' data \(offs) lies outside the file (truncated?)")
                }
                if let width = SafeTensorsFile.byteWidth(dtype) {
                    var expected = width
                    for d in shape {
                        let (v, overflow) = expected.multipliedReportingOverflow(by: d)
                        guard !overflow else { throw ModelError.corruptFile(file: path, reason: "tensor '\(name)' shape \(shape) is too large") }
                        expected = v
                    }
                    guard expected == offs[1] - offs[0] else {
                        throw ModelError.corruptFile(file: path, reason: "tensor '\(name)' has \(offs[1] - offs[0]) bytes for shape \(shape) \(dtype)")
                    }
                }
                entries[name] = Entry(dtype: dtype, shape: shape, begin: offs[0], end: offs[1])
            }
            self.entries = entries
            self.metadata = meta
        } catch {
            munmap(p, size)
            throw error
        }
    }

    deinit { munmap(base, size) }

    static func byteWidth(_ dtype: String) -> Int? {
        switch dtype {
        case "F32", "I32", "U32": return 4
        case "F16", "BF16", "I16", "U16": return 2
        case "F64", "I64", "U64": return 8
        case "I8", "U8", "BOOL": return 1
        default: return nil
        }
    }

    /// True when the file holds a tensor of that name.
    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// The tensor as float32 (F32, F16 and BF16 are converted), checking its shape when given.
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        guard let e = entries[name] else { throw ModelError.missingTensor(file: path, tensor: name) }
        if let expected, expected != e.shape {
            throw ModelError.wrongShape(file: path, tensor: name, expected: expected, got: e.shape)
        }
        let count = e.shape.reduce(1, *)
        let src = UnsafeRawPointer(base) + dataStart + e.begin
        switch e.dtype {
        case "F32":
            return [Float](unsafeUninitializedCapacity: count) { buf, n in
                memcpy(buf.baseAddress!, src, count * 4); n = count
            }
        case "F16":
            return [Float](unsafeUninitializedCapacity: count) { buf, n in
                for i in 0..<count { buf[i] = Float(Float16(bitPattern: src.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))) }
                n = count
            }
        case "BF16":
            return [Float](unsafeUninitializedCapacity: count) { buf, n in
                for i in 0..<count { buf[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self)) << 16) }
                n = count
            }
        default:
            throw ModelError.unsupportedDType(file: path, tensor: name, dtype: e.dtype)
        }
    }

    /// Writes float32 tensors as a `.safetensors` file (names sorted, offsets contiguous), atomically.
    public static func write(_ tensors: [(name: String, shape: [Int], data: [Float])], to path: String,
                             metadata: [String: String] = ["format": "pt"]) throws {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        let sorted = tensors.sorted { $0.name < $1.name }
        for t in sorted {
            precondition(t.shape.reduce(1, *) == t.data.count, "tensor \(t.name): shape \(t.shape) vs \(t.data.count) values")
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + t.data.count * 4]] as [String: Any]
            offset += t.data.count * 4
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var out = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(json)
        for t in sorted { t.data.withUnsafeBytes { out.append(contentsOf: $0) } }
        try out.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
