import CZeroMQ

/// ZeroMQ socket types used by Strata.
public enum SocketType: Sendable {
    case pair, pub, sub, req, rep, dealer, router, pull, push

    var raw: Int32 {
        switch self {
        case .pair: return ZMQ_PAIR
        case .pub: return ZMQ_PUB
        case .sub: return ZMQ_SUB
        case .req: return ZMQ_REQ
        case .rep: return ZMQ_REP
        case .dealer: return ZMQ_DEALER
        case .router: return ZMQ_ROUTER
        case .pull: return ZMQ_PULL
        case .push: return ZMQ_PUSH
        }
    }
}

/// One ZeroMQ socket. Not thread-safe: use it from one thread at a time.
/// The socket is closed (linger as configured, default 0 here) on `close()` or deinit.
public final class Socket: @unchecked Sendable {
    private(set) var handle: UnsafeMutableRawPointer?
    /// Keeps the context alive as long as the socket.
    private let context: Context
    public let type: SocketType

    init(context: Context, type: SocketType) throws {
        guard let h = zmq_socket(context.handle, type.raw) else { throw ZMQError.last("socket") }
        self.context = context
        self.type = type
        handle = h
        try setLinger(milliseconds: 0)
    }

    deinit { close() }

    /// Closes the socket (idempotent).
    public func close() {
        if let h = handle { _ = zmq_close(h); handle = nil }
    }

    func live(_ op: String) throws -> UnsafeMutableRawPointer {
        guard let h = handle else { throw ZMQError(code: ENOTSOCK, operation: op + " (socket closed)") }
        return h
    }

    /// Binds to an endpoint ("tcp://127.0.0.1:0" picks an ephemeral port; read `lastEndpoint`).
    public func bind(_ endpoint: String) throws {
        guard zmq_bind(try live("bind"), endpoint) == 0 else { throw ZMQError.last("bind \(endpoint)") }
    }

    /// Connects to an endpoint (asynchronous: succeeds before the peer is reachable).
    public func connect(_ endpoint: String) throws {
        guard zmq_connect(try live("connect"), endpoint) == 0 else { throw ZMQError.last("connect \(endpoint)") }
    }

    /// Disconnects from an endpoint given to `connect`.
    public func disconnect(_ endpoint: String) throws {
        guard zmq_disconnect(try live("disconnect"), endpoint) == 0 else { throw ZMQError.last("disconnect \(endpoint)") }
    }

    /// Sends one frame. `more`: further frames of the same message follow.
    /// Returns false when `dontWait` and the message could not be queued (EAGAIN).
    @discardableResult
    public func send(_ frame: [UInt8], more: Bool = false, dontWait: Bool = false) throws -> Bool {
        let h = try live("send")
        let flags = (more ? ZMQ_SNDMORE : 0) | (dontWait ? ZMQ_DONTWAIT : 0)
        while true {
            let rc = frame.withUnsafeBytes { zmq_send(h, $0.baseAddress, $0.count, flags) }
            if rc >= 0 { return true }
            let e = ZMQError.last("send")
            if e.isInterrupted { continue }
            if e.wouldBlock { return false }
            throw e
        }
    }

    /// Sends a multipart message. Returns false when `dontWait` and nothing could be queued.
    @discardableResult
    public func send(multipart frames: [[UInt8]], dontWait: Bool = false) throws -> Bool {
        precondition(!frames.isEmpty, "send(multipart:) needs at least one frame")
        for (i, f) in frames.enumerated() {
            let ok = try send(f, more: i + 1 < frames.count, dontWait: dontWait)
            if !ok {
                if i == 0 { return false }
                // ZeroMQ queues multipart messages atomically: after the first frame the rest go.
                throw ZMQError(code: EAGAIN, operation: "send frame \(i) of a multipart message")
            }
        }
        return true
    }

    /// Receives one frame and whether more frames of the same message follow.
    /// Returns nil on EAGAIN (dontWait, or the receive timeout passed) or EINTR.
    public func receiveFrame(dontWait: Bool = false) throws -> (frame: [UInt8], more: Bool)? {
        let h = try live("receive")
        var msg = zmq_msg_t()
        zmq_msg_init(&msg)
        defer { zmq_msg_close(&msg) }
        let rc = zmq_msg_recv(&msg, h, dontWait ? ZMQ_DONTWAIT : 0)
        if rc < 0 {
            let e = ZMQError.last("receive")
            if e.wouldBlock || e.isInterrupted { return nil }
            throw e
        }
        let n = zmq_msg_size(&msg)
        var bytes = [UInt8](repeating: 0, count: n)
        if n > 0 {
            let p = zmq_msg_data(&msg)!
            bytes.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: p, count: n)) }
        }
        return (bytes, zmq_msg_more(&msg) != 0)
    }

    /// Receives a whole multipart message, or nil when nothing arrived (EAGAIN / EINTR).
    public func receiveMultipart(dontWait: Bool = false) throws -> [[UInt8]]? {
        guard let first = try receiveFrame(dontWait: dontWait) else { return nil }
        var frames = [first.frame]
        var more = first.more
        while more {
            // The rest of a multipart message is already here (delivered atomically).
            guard let next = try receiveFrame() else {
                throw ZMQError(code: EAGAIN, operation: "receive the rest of a multipart message")
            }
            frames.append(next.frame)
            more = next.more
        }
        return frames
    }
}
