import Foundation
import Wire

/// The coordinator shell's admission of each message (`CoordinatorGate`: roles with CURVE keys,
/// replies from another coordinator run dropped) and the bind policy without keys.
extension CoordinatorServer {
    /// True when `env` from `peer` may go on to the coordinator; otherwise performs the gate's
    /// answer (PERMISSION_DENIED to the sender, nothing else) or drops it.
    func admitted(_ peer: Peer, _ env: Envelope, userID: String?) -> Bool {
        switch gate.admit(env, role: userID, curve: zap != nil) {
        case .admit:
            return true
        case .drop(let line):
            if let line { log(line) }
            return false
        case .deny(let reply):
            // The first few refusals, then every power of two: a refused peer cannot flood the log.
            let n = gate.denied
            if n <= 4 || n & (n - 1) == 0 {
                log("refused \(env.body.caseName) from \(peer) (role \(userID ?? "none")): \(reply.status?.message ?? ""); \(n) refused so far")
            }
            perform([.send(to: peer, reply)])
            return false
        }
    }

    /// Replies dropped so far because they answered another coordinator run's request.
    public var staleReplies: Int { gate.staleReplies }
    /// Messages refused so far because the sender's key had the wrong role.
    public var deniedMessages: Int { gate.denied }
    /// This run's incarnation id.
    public var incarnation: UInt64 { gate.incarnation }

    /// Nil when `bind` is a loopback endpoint (tcp://127.x, tcp://localhost, tcp://[::1], ipc://,
    /// inproc://), else a warning for a coordinator without CURVE keys: anyone who can reach the
    /// port can then register as a worker, read queries and submit jobs.
    public static func bindWarning(_ bind: String, keys: Bool) -> String? {
        guard !keys, !isLoopback(bind) else { return nil }
        return """
        WARNING: binding \(bind) WITHOUT CURVE keys: anyone who can reach this address can join as a worker \
        (receiving corpus texts and queries, answering searches with forged results) and submit jobs. \
        Use `strata keys gen` and --keys DIR, or bind tcp://127.0.0.1.
        """
    }

    /// True for endpoints only this machine can reach.
    public static func isLoopback(_ bind: String) -> Bool {
        if bind.hasPrefix("ipc://") || bind.hasPrefix("inproc://") { return true }
        guard bind.hasPrefix("tcp://") else { return false }
        let hostPort = bind.dropFirst(6)
        let host: Substring
        if hostPort.hasPrefix("["), let end = hostPort.firstIndex(of: "]") {
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<end]
        } else {
            host = hostPort.split(separator: ":", maxSplits: 1).first ?? ""
        }
        return host.hasPrefix("127.") || host == "localhost" || host == "::1" || host == "lo"
    }
}

extension Body {
    /// The message type's name, for logs (never its contents: those may be large or private).
    public var caseName: String {
        // Mirror names the case without rendering its payload (which may be megabytes).
        if let label = Mirror(reflecting: self).children.first?.label { return label }
        return String(String(describing: self).prefix(40))
    }
}
