import CZeroMQ

extension Socket {
    /// Receives a whole multipart message and the metadata `property` of its last frame
    /// (zmq_msg_gets: e.g. "User-Id", the user id the ZAP handler gave the sender's connection;
    /// nil when the connection has none, as without CURVE). Nil when nothing arrived (EAGAIN/EINTR).
    public func receiveMultipart(dontWait: Bool = false, property: String) throws -> (frames: [[UInt8]], property: String?)? {
        let h = try live("receive")
        var frames: [[UInt8]] = []
        var value: String?
        var more = true
        while more {
            var msg = zmq_msg_t()
            zmq_msg_init(&msg)
            defer { zmq_msg_close(&msg) }
            // After the first frame the rest of the message is already here (delivered atomically).
            let rc = zmq_msg_recv(&msg, h, frames.isEmpty && dontWait ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                let e = ZMQError.last("receive")
                if frames.isEmpty && (e.wouldBlock || e.isInterrupted) { return nil }
                if e.isInterrupted { continue }
                throw e
            }
            let n = zmq_msg_size(&msg)
            var bytes = [UInt8](repeating: 0, count: n)
            if n > 0 {
                let p = zmq_msg_data(&msg)!
                bytes.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: p, count: n)) }
            }
            frames.append(bytes)
            more = zmq_msg_more(&msg) != 0
            if !more, let v = zmq_msg_gets(&msg, property) { value = String(cString: v) }
        }
        return (frames, value)
    }
}
