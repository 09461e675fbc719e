// StatusCode is generated from proto/strata.proto (Generated/Envelope.swift); the Swift type of
// the proto's `Status` message is RPCStatus, written here (scripts/gen-proto converts it).

/// A status carried by a reply: a code and a human-readable message.
public struct RPCStatus: Equatable, Sendable, Error, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public init(_ code: StatusCode, _ message: String = "") { self.code = code; self.message = message }
    public static let ok = RPCStatus(.ok)
    public var description: String { "\(code) (\(code.rawValue)): \(message)" }
}

/// A frame that could not be encoded or decoded. `code` is `.invalidArgument` for a malformed
/// frame and `.resourceExhausted` for an oversized one; `requestID` is known when the envelope
/// itself decoded but its content was invalid (so the sender can be answered).
public struct WireError: Error, Equatable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var requestID: UInt64?
    public init(_ code: StatusCode, _ message: String, requestID: UInt64? = nil) {
        self.code = code; self.message = message; self.requestID = requestID
    }
    public var status: RPCStatus { RPCStatus(code, message) }
    public var description: String { "wire \(code): \(message)" }
}
