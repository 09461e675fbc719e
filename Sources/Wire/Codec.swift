import CProtobufC
import CStrataProto

/// Swift -> protobuf-c: builds the C message tree in an arena and packs it. The per-message
/// converters are generated (Generated/Encode.swift); the helpers they share are here.
enum WireEncoder {
    static func pack(_ e: Envelope) throws -> [UInt8] {
        let a = Arena()
        let env = try envelope(e, a, "")
        let size = strata__envelope__get_packed_size(env)
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBufferPointer { strata__envelope__pack(env, $0.baseAddress) }
        precondition(written == size, "protobuf-c packed \(written) of \(size) bytes")
        return out
    }

    static func u32(_ v: Int, _ field: @autoclosure () -> String) throws -> UInt32 {
        guard let x = UInt32(exactly: v) else { throw WireError(.invalidArgument, "\(field()) = \(v) does not fit in uint32") }
        return x
    }

    static func u64(_ v: Int, _ field: @autoclosure () -> String) throws -> UInt64 {
        guard let x = UInt64(exactly: v) else { throw WireError(.invalidArgument, "\(field()) = \(v) is negative") }
        return x
    }
}

/// protobuf-c -> Swift. protobuf-c's unpack returns NULL on a malformed frame: that becomes
/// `WireError(.invalidArgument)`, never a crash. Content checks (vector byte counts, UTF-8) in the
/// generated converters (Generated/Decode.swift) throw `.invalidArgument` carrying the request id so
/// the sender can be answered.
enum WireDecoder {
    /// Largest vector dimension a frame may declare.
    static let maxDimension = 1 << 16

    static func unpack(_ bytes: [UInt8], maxBytes: Int) throws -> Envelope {
        guard bytes.count <= maxBytes else {
            throw WireError(.resourceExhausted, "frame of \(bytes.count) bytes is over the \(maxBytes)-byte limit")
        }
        guard let env = bytes.withUnsafeBufferPointer({ strata__envelope__unpack(nil, $0.count, $0.baseAddress) }) else {
            throw WireError(.invalidArgument, "frame of \(bytes.count) bytes is not a strata.Envelope (protobuf decode failed)")
        }
        defer { strata__envelope__free_unpacked(env, nil) }
        do {
            return try envelope(env, "")
        } catch var e as WireError {
            e.requestID = env.pointee.request_id
            throw e
        }
    }

    static func int(_ v: UInt64, _ field: @autoclosure () -> String) throws -> Int {
        guard v <= UInt64(Int.max) else { throw WireError(.invalidArgument, "\(field()) = \(v) is too large") }
        return Int(v)
    }

    /// `rows` x `dimension` float32 values in `b`; the dimension is capped, the byte count must agree.
    static func vectors(rows: UInt32, dimension: UInt32, _ b: ProtobufCBinaryData, _ field: @autoclosure () -> String) throws -> Vectors {
        let d = try CRead.checkedCount(dimension, limit: maxDimension, "dimension")
        let r = Int(rows)
        let data = try CRead.floats(b, expected: r * d, field())
        return Vectors(rows: r, dimension: d, data: data)
    }
}

/// Field names in error messages: `path.field`, or `field` alone for a oneof's message.
enum WirePath {
    static func join(_ path: String, _ field: String) -> String { path.isEmpty ? field : "\(path).\(field)" }
}
