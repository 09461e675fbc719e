import CZeroMQ

/// A ZeroMQ context (thread-safe). Sockets made from it must be closed before it is released.
public final class Context: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    /// A new context with libzmq's defaults (one I/O thread).
    public init() throws {
        guard let h = zmq_ctx_new() else { throw ZMQError.last("ctx_new") }
        handle = h
    }

    /// Makes every blocking call on this context's sockets fail with ETERM (used to stop threads).
    public func shutdown() { _ = zmq_ctx_shutdown(handle) }

    deinit { _ = zmq_ctx_term(handle) }

    /// A new socket of `type` in this context.
    public func socket(_ type: SocketType) throws -> Socket { try Socket(context: self, type: type) }
}
