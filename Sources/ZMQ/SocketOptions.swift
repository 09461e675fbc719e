import CZeroMQ

/// Socket options (zmq_setsockopt / zmq_getsockopt) used by Strata.
extension Socket {
    func setInt32(_ option: Int32, _ value: Int32, _ name: String) throws {
        var v = value
        guard zmq_setsockopt(try live(name), option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("setsockopt \(name)=\(value)")
        }
    }

    func setBytes(_ option: Int32, _ value: [UInt8], _ name: String) throws {
        let h = try live(name)
        let rc = value.withUnsafeBytes { zmq_setsockopt(h, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError.last("setsockopt \(name)") }
    }

    func getInt32(_ option: Int32, _ name: String) throws -> Int32 {
        var v: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(try live(name), option, &v, &size) == 0 else { throw ZMQError.last("getsockopt \(name)") }
        return v
    }

    /// Milliseconds pending messages are kept after close (0 = drop at once, -1 = forever).
    public func setLinger(milliseconds: Int32) throws { try setInt32(ZMQ_LINGER, milliseconds, "ZMQ_LINGER") }

    /// Largest inbound message in bytes; a peer sending a bigger one is disconnected (ZMQ_MAXMSGSIZE).
    public func setMaxMessageSize(_ bytes: Int64) throws {
        var v = bytes
        guard zmq_setsockopt(try live("maxmsgsize"), ZMQ_MAXMSGSIZE, &v, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError.last("setsockopt ZMQ_MAXMSGSIZE=\(bytes)")
        }
    }

    /// Receive timeout in milliseconds (-1 = block forever); a timed-out receive returns nil.
    public func setReceiveTimeout(milliseconds: Int32) throws { try setInt32(ZMQ_RCVTIMEO, milliseconds, "ZMQ_RCVTIMEO") }

    /// Send timeout in milliseconds (-1 = block forever).
    public func setSendTimeout(milliseconds: Int32) throws { try setInt32(ZMQ_SNDTIMEO, milliseconds, "ZMQ_SNDTIMEO") }

    /// The socket's routing id (DEALER/REQ identity seen by a ROUTER). Set before connect.
    public func setRoutingID(_ id: [UInt8]) throws { try setBytes(ZMQ_ROUTING_ID, id, "ZMQ_ROUTING_ID") }

    /// ROUTER: fail with EHOSTUNREACH instead of silently dropping messages to unknown peers.
    public func setRouterMandatory(_ on: Bool) throws { try setInt32(ZMQ_ROUTER_MANDATORY, on ? 1 : 0, "ZMQ_ROUTER_MANDATORY") }

    /// ROUTER: a new connection with a routing id already in use takes it over (the old one is
    /// dropped) instead of being refused, so a reconnecting peer with the same id is accepted.
    public func setRouterHandover(_ on: Bool) throws { try setInt32(ZMQ_ROUTER_HANDOVER, on ? 1 : 0, "ZMQ_ROUTER_HANDOVER") }

    /// Queue messages only to completed connections.
    public func setImmediate(_ on: Bool) throws { try setInt32(ZMQ_IMMEDIATE, on ? 1 : 0, "ZMQ_IMMEDIATE") }

    /// Reconnect back-off: first interval and maximum (ms), doubling between (Paranoid Pirate).
    public func setReconnectInterval(milliseconds: Int32, max: Int32) throws {
        try setInt32(ZMQ_RECONNECT_IVL, milliseconds, "ZMQ_RECONNECT_IVL")
        try setInt32(ZMQ_RECONNECT_IVL_MAX, max, "ZMQ_RECONNECT_IVL_MAX")
    }

    /// High-water marks (messages queued) for sending and receiving.
    public func setHighWaterMarks(send: Int32, receive: Int32) throws {
        try setInt32(ZMQ_SNDHWM, send, "ZMQ_SNDHWM")
        try setInt32(ZMQ_RCVHWM, receive, "ZMQ_RCVHWM")
    }

    /// SUB: subscribe to messages starting with `prefix` ("" = everything).
    public func subscribe(_ prefix: [UInt8] = []) throws { try setBytes(ZMQ_SUBSCRIBE, prefix, "ZMQ_SUBSCRIBE") }

    /// The endpoint last bound (with the real port when bound to port 0).
    public var lastEndpoint: String {
        get throws {
            var buf = [CChar](repeating: 0, count: 256)
            var size = buf.count
            guard zmq_getsockopt(try live("last_endpoint"), ZMQ_LAST_ENDPOINT, &buf, &size) == 0 else {
                throw ZMQError.last("getsockopt ZMQ_LAST_ENDPOINT")
            }
            return String(cString: buf)
        }
    }

    // MARK: CURVE

    /// Makes this socket a CURVE server with the given secret key (Z85, 40 characters).
    /// `zapDomain` is passed to the ZAP handler (see `ZAPHandler`).
    public func makeCurveServer(secretKey: String, zapDomain: String = "strata") throws {
        try setInt32(ZMQ_CURVE_SERVER, 1, "ZMQ_CURVE_SERVER")
        try setBytes(ZMQ_CURVE_SECRETKEY, try Curve.checkedKey(secretKey, "secret key"), "ZMQ_CURVE_SECRETKEY")
        try setBytes(ZMQ_ZAP_DOMAIN, Array(zapDomain.utf8), "ZMQ_ZAP_DOMAIN")
    }

    /// Makes this socket a CURVE client of a server whose public key is `serverKey` (all Z85).
    public func makeCurveClient(serverKey: String, publicKey: String, secretKey: String) throws {
        try setBytes(ZMQ_CURVE_SERVERKEY, try Curve.checkedKey(serverKey, "server key"), "ZMQ_CURVE_SERVERKEY")
        try setBytes(ZMQ_CURVE_PUBLICKEY, try Curve.checkedKey(publicKey, "public key"), "ZMQ_CURVE_PUBLICKEY")
        try setBytes(ZMQ_CURVE_SECRETKEY, try Curve.checkedKey(secretKey, "secret key"), "ZMQ_CURVE_SECRETKEY")
    }
}
