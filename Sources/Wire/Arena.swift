import CProtobufC
import CStrataProto
import Foundation

/// Owns every C allocation made while building one protobuf-c message tree; frees them on deinit.
final class Arena {
    private var blocks: [UnsafeMutableRawPointer] = []
    deinit { for b in blocks { free(b) } }

    /// A malloc'd, zeroed T initialised by a protobuf-c `*__init` function.
    func message<T>(_ initialise: (UnsafeMutablePointer<T>) -> Void) -> UnsafeMutablePointer<T> {
        let raw = calloc(1, MemoryLayout<T>.size)!
        blocks.append(raw)
        let p = raw.bindMemory(to: T.self, capacity: 1)
        initialise(p)
        return p
    }

    /// A NUL-terminated copy of `s`; a string holding a NUL byte cannot travel as a proto3 string in C.
    func string(_ s: String, field: @autoclosure () -> String) throws -> UnsafeMutablePointer<CChar> {
        if s.utf8.contains(0) { throw WireError(.invalidArgument, "\(field()) contains a NUL byte") }
        let p = strdup(s)!
        blocks.append(UnsafeMutableRawPointer(p))
        return p
    }

    /// A malloc'd C array of the values (nil when empty).
    func array<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        if values.isEmpty { return nil }
        let raw = malloc(MemoryLayout<T>.stride * values.count)!
        blocks.append(raw)
        let p = raw.bindMemory(to: T.self, capacity: values.count)
        for (i, v) in values.enumerated() { (p + i).initialize(to: v) }
        return p
    }

    /// A C array of C strings.
    func strings(_ values: [String], field: @autoclosure () -> String) throws -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        try array(values.indices.map { i in Optional(try string(values[i], field: "\(field())[\(i)]")) })
    }

    /// float32 little-endian bytes of `values` (x86_64 and arm64 are little-endian: a plain copy).
    func floats(_ values: [Float]) -> ProtobufCBinaryData {
        if values.isEmpty { return ProtobufCBinaryData(len: 0, data: nil) }
        let n = values.count * 4
        let raw = malloc(n)!
        blocks.append(raw)
        values.withUnsafeBytes { raw.copyMemory(from: $0.baseAddress!, byteCount: n) }
        return ProtobufCBinaryData(len: n, data: raw.assumingMemoryBound(to: UInt8.self))
    }
}

/// Reads C fields back into Swift, validating as it goes.
enum CRead {
    static func string(_ p: UnsafePointer<CChar>?, _ field: @autoclosure () -> String) throws -> String {
        guard let p else { return "" }
        guard let s = String(validatingCString: p) else { throw WireError(.invalidArgument, "\(field()) is not valid UTF-8") }
        return s
    }

    static func strings(_ n: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ field: @autoclosure () -> String) throws -> [String] {
        guard n > 0, let p else { return [] }
        return try (0..<n).map { i in try string(p[i], "\(field())[\(i)]") }
    }

    /// A repeated message field: each element read by `read(element, index)`; a NULL element is refused.
    static func messages<C, T>(_ n: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<C>?>?, _ field: @autoclosure () -> String,
                               _ read: (UnsafeMutablePointer<C>, Int) throws -> T) throws -> [T] {
        guard n > 0, let p else { return [] }
        return try (0..<n).map { i in
            guard let q = p[i] else { throw WireError(.invalidArgument, "\(field())[\(i)] missing") }
            return try read(q, i)
        }
    }

    static func array<T>(_ n: Int, _ p: UnsafeMutablePointer<T>?) -> [T] {
        guard n > 0, let p else { return [] }
        return Array(UnsafeBufferPointer(start: p, count: n))
    }

    /// `bytes` holding float32 LE values; the length must be a multiple of 4 and equal `expected` floats.
    static func floats(_ b: ProtobufCBinaryData, expected: Int, _ field: @autoclosure () -> String) throws -> [Float] {
        guard b.len == expected * 4 else {
            throw WireError(.invalidArgument, "\(field()) holds \(b.len) bytes, expected \(expected) float32 (\(expected * 4) bytes)")
        }
        if expected == 0 { return [] }
        var out = [Float](repeating: 0, count: expected)
        out.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: b.data, count: b.len)) }
        return out
    }

    static func checkedCount(_ v: UInt32, limit: Int, _ field: @autoclosure () -> String) throws -> Int {
        guard Int(v) <= limit else { throw WireError(.invalidArgument, "\(field()) = \(v) is over the limit \(limit)") }
        return Int(v)
    }
}
