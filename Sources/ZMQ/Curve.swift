import CZeroMQ

/// CURVE key helpers (Z85-encoded Curve25519 keys, 40 characters).
public enum Curve {
    /// A fresh key pair from zmq_curve_keypair.
    public static func keypair() throws -> (publicKey: String, secretKey: String) {
        var pub = [CChar](repeating: 0, count: 41)
        var sec = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&pub, &sec) == 0 else { throw ZMQError.last("curve_keypair") }
        return (String(cString: pub), String(cString: sec))
    }

    /// The public key that belongs to a secret key (zmq_curve_public).
    public static func publicKey(forSecret secret: String) throws -> String {
        _ = try checkedKey(secret, "secret key")
        var pub = [CChar](repeating: 0, count: 41)
        guard zmq_curve_public(&pub, secret) == 0 else { throw ZMQError.last("curve_public") }
        return String(cString: pub)
    }

    /// Z85-encodes 32 raw key bytes.
    public static func z85Encode(_ raw: [UInt8]) throws -> String {
        guard raw.count % 4 == 0 else { throw ZMQError(code: EINVAL, operation: "z85_encode of \(raw.count) bytes (needs a multiple of 4)") }
        var out = [CChar](repeating: 0, count: raw.count * 5 / 4 + 1)
        guard zmq_z85_encode(&out, raw, raw.count) != nil else { throw ZMQError.last("z85_encode") }
        return String(cString: out)
    }

    /// Decodes a Z85 string (length a multiple of 5) into raw bytes.
    public static func z85Decode(_ text: String) throws -> [UInt8] {
        guard text.utf8.count % 5 == 0 else { throw ZMQError(code: EINVAL, operation: "z85_decode of \(text.utf8.count) characters (needs a multiple of 5)") }
        var out = [UInt8](repeating: 0, count: text.utf8.count * 4 / 5)
        guard zmq_z85_decode(&out, text) != nil else { throw ZMQError(code: EINVAL, operation: "z85_decode: not Z85 text") }
        return out
    }

    /// The 32 raw bytes of a Z85 key, or EINVAL naming `what`.
    static func checkedKey(_ key: String, _ what: String) throws -> [UInt8] {
        guard key.utf8.count == 40, let raw = try? z85Decode(key) else {
            throw ZMQError(code: EINVAL, operation: "CURVE \(what) must be 40 Z85 characters")
        }
        return raw
    }
}
