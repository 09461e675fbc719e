/// Encoding and decoding of `Envelope`s: the frames Strata puts on ZeroMQ sockets.
public enum Wire {
    /// Default largest frame accepted (also the ZMQ_MAXMSGSIZE the cluster sockets use): 64 MiB.
    public static let defaultMaxFrameBytes = 64 << 20

    /// The protobuf encoding of `envelope`. Throws `.invalidArgument` for a value that cannot
    /// travel (a string holding a NUL byte, a negative count, a count over uint32).
    public static func encode(_ envelope: Envelope) throws -> [UInt8] { try WireEncoder.pack(envelope) }

    /// Decodes one frame. Throws `WireError` with `.resourceExhausted` when the frame is over
    /// `maxBytes`, `.invalidArgument` when it is not a valid envelope; never crashes.
    public static func decode(_ frame: [UInt8], maxBytes: Int = defaultMaxFrameBytes) throws -> Envelope {
        try WireDecoder.unpack(frame, maxBytes: maxBytes)
    }
}
