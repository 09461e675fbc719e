import Wire

/// The Membership part of the coordinator: which workers are live, which are suspect, and when
/// one is dead (Paranoid Pirate, seen from the coordinator). Pure: time comes in as arguments and
/// `tick` returns directives (`Directive`); the `Coordinator` turns them into messages and into
/// the consequences of a death (its shards and chunks go elsewhere).
///
/// A worker is live from its registration until it misses `liveness` heartbeat intervals. A worker
/// whose connection dropped (the shell's socket monitor) is suspect at once: no new work goes to
/// it, and it is dead after `suspectGrace` seconds of silence unless it speaks again.
public struct Membership: Sendable {
    public enum Directive: Equatable, Sendable {
        /// Nothing was sent to this worker for a heartbeat interval: send it a heartbeat.
        case heartbeat(Peer)
        /// The worker is dead (the reason, for the log).
        case dead(Peer, reason: String)
    }

    public let interval: Double
    public let liveness: Int
    public let suspectGrace: Double
    var workers: [Peer: WorkerRecord] = [:]
    /// Workers whose connection dropped, and since when (cleared by any message from them).
    var suspects: [Peer: Double] = [:]

    public init(interval: Double, liveness: Int, suspectGrace: Double) {
        self.interval = interval; self.liveness = liveness; self.suspectGrace = suspectGrace
    }

    /// Live workers, in a stable order.
    public var live: [Peer] { workers.keys.sorted() }

    /// Suspect workers (their connection dropped), in a stable order.
    public var suspect: [Peer] { suspects.keys.sorted() }

    /// Live and not suspect: may be given work.
    public func usable(_ w: Peer) -> Bool { workers[w] != nil && suspects[w] == nil }

    /// A worker registered (again) at `now`, holding shards `held` on its disk.
    public mutating func joined(_ w: Peer, name: String, held: Set<Int>, now: Double) {
        workers[w] = WorkerRecord(peer: w, name: name, lastSeen: now, held: held)
        suspects[w] = nil
    }

    /// A message came from `w`. Returns true when that cleared a suspicion.
    public mutating func heard(_ w: Peer, now: Double) -> Bool {
        guard workers[w] != nil else { return false }
        workers[w]!.lastSeen = now
        return suspects.removeValue(forKey: w) != nil
    }

    /// Something was sent to `w` (it counts as a heartbeat).
    public mutating func sent(_ w: Peer, now: Double) { workers[w]?.lastSent = now }

    /// `w`'s connection dropped. Returns true when `w` is live and now newly suspect.
    public mutating func connectionLost(_ w: Peer, now: Double) -> Bool {
        guard workers[w] != nil, suspects[w] == nil else { return false }
        suspects[w] = now
        return true
    }

    /// Forgets a dead worker.
    public mutating func remove(_ w: Peer) {
        workers[w] = nil
        suspects[w] = nil
    }

    /// Deaths and heartbeats due at `now`, in worker order. A dead worker stays listed until the
    /// coordinator `remove`s it (it also drops what the worker held).
    public mutating func tick(now: Double) -> [Directive] {
        let expiry = interval * Double(liveness)
        var out: [Directive] = []
        for w in live {
            let r = workers[w]!
            if now - r.lastSeen > expiry {
                out.append(.dead(w, reason: "worker \(w) missed \(liveness) heartbeats: dead"))
            } else if let since = suspects[w], now - max(since, r.lastSeen) > suspectGrace {
                out.append(.dead(w, reason: "worker \(w): connection dropped and silent for \(suspectGrace) s: dead"))
            } else if now - r.lastSent >= interval {
                workers[w]!.lastSent = now
                out.append(.heartbeat(w))
            }
        }
        return out
    }
}
