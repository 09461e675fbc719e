/// The worker's side of Paranoid Pirate, as a pure state machine: heartbeat when quiet,
/// declare the coordinator dead after `liveness` silent intervals, then reconnect after a
/// back-off that doubles from `reconnectInitial` up to `reconnectMax` and resets on traffic.
public struct WorkerLiveness: Sendable {
    public enum Directive: Equatable, Sendable {
        case sendHeartbeat
        /// Close the socket, wait `after` seconds, connect again and re-register.
        case reconnect(after: Double)
    }

    public let interval: Double
    public let liveness: Int
    public private(set) var reconnectDelay: Double
    public let reconnectMax: Double
    var lastHeard: Double
    var lastSent: Double

    public init(now: Double, interval: Double = ProtocolConstants.heartbeatInterval, liveness: Int = ProtocolConstants.heartbeatLiveness,
                reconnectInitial: Double = ProtocolConstants.reconnectInitial, reconnectMax: Double = ProtocolConstants.reconnectMax) {
        self.interval = interval; self.liveness = liveness
        reconnectDelay = reconnectInitial; self.reconnectMax = reconnectMax
        lastHeard = now; lastSent = now
        initialDelay = reconnectInitial
    }
    private let initialDelay: Double

    /// Anything arrived from the coordinator.
    public mutating func heard(now: Double) { lastHeard = now; reconnectDelay = initialDelay }

    /// Something was sent to the coordinator (it counts as a heartbeat).
    public mutating func sent(now: Double) { lastSent = now }

    /// Heartbeats missed so far.
    public func missed(now: Double) -> Int { Int((now - lastHeard) / interval) }

    public mutating func tick(now: Double) -> [Directive] {
        if now - lastHeard > interval * Double(liveness) {
            let d = reconnectDelay
            reconnectDelay = min(reconnectDelay * 2, reconnectMax)
            // A fresh silence window starts once the new connection is made.
            lastHeard = now + d
            lastSent = now + d
            return [.reconnect(after: d)]
        }
        if now - lastSent >= interval {
            lastSent = now
            return [.sendHeartbeat]
        }
        return []
    }
}
