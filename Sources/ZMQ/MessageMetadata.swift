import CZeroMQ

/// A received multipart message with what ZeroMQ knows of the connection it came in on.
public struct ReceivedMessage {
    public var frames: [[UInt8]]
    /// The metadata property asked for (zmq_msg_gets on the last frame: e.g. "User-Id", the user
    /// id the ZAP handler gave the sender's connection); nil when the connection has none, as
    /// without CURVE, or when none was asked for.
    public var property: String?
    /// The file descriptor of the connection (ZMQ_SRCFD of the first frame that has one; a ROUTER
    /// makes the routing-id frame itself), which `SocketMonitor` events name; -1 when unknown.
    public var sourceFD: Int32
}

extension Socket {
    /// Receives a whole multipart message with its connection's metadata `property` and source
    /// file descriptor. Nil when nothing arrived (EAGAIN/EINTR).
    public func receiveMultipart(dontWait: Bool = false, property: String?) throws -> ReceivedMessage? {
        let h = try live("receive")
        var got = ReceivedMessage(frames: [], property: nil, sourceFD: -1)
        var more = true
        while more {
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            // After the first frame the rest of the message is already here (delivered atomically).
            let rc = zmq_msg_recv(&msg, h, got.frames.isEmpty && dontWait ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                let e = ZMQError.last("receive")
                if got.frames.isEmpty && (e.wouldBlock || e.isInterrupted) { return nil }
                if e.isInterrupted { continue }
                throw e
            }
            if got.sourceFD < 0 { got.sourceFD = zmq_msg_get(&msg, ZMQ_SRCFD) }
            let n = zmq_msg_size(&msg)
            var bytes = [UInt8](repeating: 0, count: n)
            if n > 0 {
                let p = zmq_msg_data(&msg)!
                bytes.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: p, count: n)) }
            }
            got.frames.append(bytes)
            more = zmq_msg_more(&msg) != 0
            if !more, let property, let v = zmq_msg_gets(&msg, property) { got.property = String(cString: v) }
        }
        return got
    }
}
