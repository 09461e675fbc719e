/// A ZeroMQ routing identity (the ROUTER's first frame): a worker's chosen id or a client's random one.
public struct Peer: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ name: String) { bytes = Array(name.utf8) }
    public var description: String {
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return String(decoding: bytes, as: UTF8.self) }
        return "0x" + bytes.map { String(format: "%02x", $0) }.joined()
    }
    public static func < (a: Peer, b: Peer) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

import Foundation
