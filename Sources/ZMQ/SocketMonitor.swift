import CZeroMQ

/// Connection events of a socket (zmq_socket_monitor): libzmq publishes them on an inproc PAIR
/// socket, which this class connects and parses. Poll `socket` with the watched one and call
/// `nextEvent(dontWait: true)` when it is readable. The event's value for connection events is
/// the connection's file descriptor, which `Socket.receiveMultipart(dontWait:property:)` reports
/// for each message: together they tell which peer's connection dropped.
public final class SocketMonitor {
    /// Events to watch (ZMQ_EVENT_*).
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }
        public static let accepted = Events(rawValue: ZMQ_EVENT_ACCEPTED)
        public static let disconnected = Events(rawValue: ZMQ_EVENT_DISCONNECTED)
    }

    /// One event: what happened, the file descriptor of the connection, the endpoint.
    public struct Event: Equatable, Sendable {
        public enum Kind: Equatable, Sendable { case accepted, disconnected, other(UInt16) }
        public let kind: Kind
        public let fd: Int32
        public let endpoint: String
    }

    /// The PAIR socket the events arrive on (poll it beside the watched socket).
    public let socket: Socket
    private let watched: Socket

    /// Starts monitoring `watched` for `events`.
    public init(watching watched: Socket, context: Context, events: Events = [.disconnected]) throws {
        let address = "inproc://strata-monitor-\(UInt64.random(in: 0...UInt64.max))"
        guard zmq_socket_monitor(try watched.live("socket monitor"), address, events.rawValue) == 0 else {
            throw ZMQError.last("zmq_socket_monitor")
        }
        self.watched = watched
        socket = try context.socket(.pair)
        try socket.connect(address)
    }

    deinit { stop() }

    /// Stops monitoring (idempotent).
    public func stop() {
        if let h = try? watched.live("socket monitor") { _ = zmq_socket_monitor(h, nil, 0) }
        socket.close()
    }

    /// The next event, or nil when none is waiting (`dontWait`). A malformed event (not the
    /// two-frame form libzmq 4.x sends) is skipped.
    public func nextEvent(dontWait: Bool = true) throws -> Event? {
        while let frames = try socket.receiveMultipart(dontWait: dontWait) {
            guard frames.count == 2, frames[0].count == 6 else { continue }
            let f = frames[0]
            let id = UInt16(f[0]) | UInt16(f[1]) << 8
            let value = UInt32(f[2]) | UInt32(f[3]) << 8 | UInt32(f[4]) << 16 | UInt32(f[5]) << 24
            let kind: Event.Kind
            switch Int32(id) {
            case ZMQ_EVENT_ACCEPTED: kind = .accepted
            case ZMQ_EVENT_DISCONNECTED: kind = .disconnected
            default: kind = .other(id)
            }
            return Event(kind: kind, fd: Int32(bitPattern: value), endpoint: String(decoding: frames[1], as: UTF8.self))
        }
        return nil
    }
}
