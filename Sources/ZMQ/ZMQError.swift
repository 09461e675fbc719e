import CZeroMQ

/// A failed zmq_* call: the libzmq errno, its zmq_strerror text and the operation that failed.
public struct ZMQError: Error, CustomStringConvertible, Equatable {
    /// errno as libzmq reported it (EAGAIN, ETERM, EHOSTUNREACH, ...).
    public let code: Int32
    /// What was being done ("bind tcp://127.0.0.1:0", "send", ...).
    public let operation: String

    public init(code: Int32, operation: String) { self.code = code; self.operation = operation }

    /// The error of the last zmq_* call on this thread.
    static func last(_ operation: String) -> ZMQError { ZMQError(code: zmq_errno(), operation: operation) }

    /// zmq_strerror of `code`.
    public var message: String { String(cString: zmq_strerror(code)) }
    public var description: String { "zmq \(operation): \(message) (errno \(code))" }

    /// The context was terminated (sockets must be closed).
    public var isTerminated: Bool { code == ETERM }
    /// The call would have blocked (non-blocking mode or timeout).
    public var wouldBlock: Bool { code == EAGAIN }
    /// A signal interrupted the call.
    public var isInterrupted: Bool { code == EINTR }
}

/// libzmq's version as (major, minor, patch).
public func zmqVersion() -> (major: Int, minor: Int, patch: Int) {
    var a: Int32 = 0, b: Int32 = 0, c: Int32 = 0
    zmq_version(&a, &b, &c)
    return (Int(a), Int(b), Int(c))
}

/// True when libzmq was built with the given capability ("curve", "ipc", ...).
public func zmqHas(_ capability: String) -> Bool { zmq_has(capability) != 0 }
