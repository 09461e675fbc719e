import Foundation
import Wire
import ZMQ

/// The coordinator shell's socket monitor: a connection the ROUTER saw drop (kill -9 of a
/// worker, a cable pulled) becomes `.connectionLost` for every peer whose messages came in on it,
/// so that the state machine suspects the worker at once instead of after three heartbeats.
extension CoordinatorServer {
    /// Starts the ROUTER's monitor; without one (it failed) dead workers are found by heartbeats only.
    func startMonitor() -> SocketMonitor? {
        do { return try SocketMonitor(watching: router, context: context, events: [.disconnected]) } catch {
            log("no socket monitor (\(error)): dropped connections are noticed by missed heartbeats only")
            return nil
        }
    }

    /// Drains the monitor's events.
    func connectionEvents() {
        guard let monitor else { return }
        while let ev = try? monitor.nextEvent(dontWait: true) {
            guard ev.kind == .disconnected else { continue }
            let t = Self.now()
            for peer in connections.dropped(fd: ev.fd) { perform(state.handle(.connectionLost(peer, now: t))) }
        }
    }
}
