import CZeroMQ

/// zmq_poll over a fixed set of sockets, waiting for readability.
public struct Poller {
    private var items: [zmq_pollitem_t]
    private let sockets: [Socket]

    public init(_ sockets: [Socket]) {
        self.sockets = sockets
        items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
    }

    /// Waits up to `timeoutMilliseconds` (-1 = forever) and returns, per socket, whether a message
    /// can be received. A signal interrupting the wait returns all false.
    public mutating func poll(timeoutMilliseconds: Int) throws -> [Bool] {
        for i in items.indices { items[i].revents = 0; items[i].socket = sockets[i].handle }
        let rc = items.withUnsafeMutableBufferPointer { zmq_poll($0.baseAddress, Int32($0.count), timeoutMilliseconds) }
        if rc < 0 {
            let e = ZMQError.last("poll")
            if e.isInterrupted { return Array(repeating: false, count: items.count) }
            throw e
        }
        return items.map { ($0.revents & Int16(ZMQ_POLLIN)) != 0 }
    }
}
