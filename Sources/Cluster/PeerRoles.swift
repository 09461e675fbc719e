import Wire

/// Who may send what to the coordinator. With CURVE keys every connection has a role, the
/// allow-list its key is in (`authorized_workers` or `authorized_clients`), which the ZAP handler
/// gives it as its User-Id and the coordinator reads on each received message.
public enum PeerRole: String, Sendable, CaseIterable {
    case worker, client

    /// The role a message's body needs. Workers: registration, heartbeats and the replies to the
    /// coordinator's requests. Clients: the requests the coordinator serves. Nil: a message
    /// nobody sends to the coordinator (its own requests to workers, its replies to clients):
    /// refused from every authenticated peer.
    ///
    /// The switch is exhaustive on purpose: a new message type does not compile until it is given
    /// a role here (fail closed).
    public static func required(for body: Body) -> PeerRole? {
        switch body {
        case .registerRequest, .heartbeat, .workerLeavingRequest,
             .loadModelReply, .assignShardReply, .dropShardReply, .embedBatchReply, .searchShardReply,
             .rerankReply, .embedChunkReply, .error:
            return .worker
        case .searchRequest, .jobSubmitRequest, .jobStatusRequest, .jobCancelRequest, .clusterStatusRequest,
             .embedTextsRequest, .rerankTextsRequest:
            return .client
        case .registerReply, .loadModelRequest, .assignShardRequest, .dropShardRequest, .embedBatchRequest,
             .searchShardRequest, .rerankRequest, .embedChunkRequest, .searchReply, .jobSubmitReply,
             .jobStatusReply, .jobCancelReply, .clusterStatusReply, .embedTextsReply, .rerankTextsReply,
             .workerLeavingReply:
            return nil
        }
    }

    /// True for a worker's answer to one of the coordinator's requests: these carry, echoed, the
    /// incarnation of the coordinator run that sent the request (`CoordinatorGate.echo`). A
    /// message a worker starts itself (register, heartbeat, or a later notice) is not one.
    public static func isWorkerReply(_ body: Body) -> Bool {
        switch body {
        case .loadModelReply, .assignShardReply, .dropShardReply, .embedBatchReply, .searchShardReply,
             .rerankReply, .embedChunkReply, .error:
            return true
        default:
            return false
        }
    }
}

extension Envelope {
    /// The reply to this request: its request id and its incarnation (which the coordinator
    /// checks), with `body` and `status`.
    public func reply(_ body: Body, status: RPCStatus = .ok) -> Envelope {
        Envelope(requestID: requestID, status: status, body: body, incarnation: incarnation)
    }
}

/// The coordinator's admission of each decoded message, before the state machine sees it:
/// role checks (with CURVE) and the incarnation filter. Pure: the shell passes in what it
/// received (and the sender's User-Id) and performs the actions it gets back.
public struct CoordinatorGate: Sendable {
    /// This coordinator run's incarnation: random at start, never 0, stamped on every envelope
    /// the coordinator sends; workers echo it in their replies.
    public let incarnation: UInt64
    /// Replies dropped because they answered another coordinator run's request.
    public private(set) var staleReplies = 0
    /// Messages refused because the sender's key has the wrong role (or none).
    public private(set) var denied = 0

    public init(incarnation: UInt64 = UInt64.random(in: 1...UInt64.max)) {
        precondition(incarnation != 0, "incarnation 0 means `none` on the wire")
        self.incarnation = incarnation
    }

    /// The verdict on one message.
    public enum Verdict: Equatable, Sendable {
        /// Hand it to the coordinator.
        case admit
        /// Drop it silently (a late reply to another coordinator run); `log` is set for the first
        /// few and then every power of two, so a flood cannot flood the log.
        case drop(log: String?)
        /// Refuse it: send `reply` (PERMISSION_DENIED) and nothing else.
        case deny(Envelope)
    }

    /// - Parameter role: the sender's User-Id when the coordinator uses CURVE (nil without keys:
    ///   no roles are checked, see cluster/README.md on binding to loopback).
    public mutating func admit(_ env: Envelope, role: String?, curve: Bool) -> Verdict {
        if curve {
            let needed = PeerRole.required(for: env.body)
            guard let have = role.flatMap(PeerRole.init(rawValue:)), let needed, have == needed else {
                denied += 1
                let what = needed.map { "a \($0.rawValue) message" } ?? "a message the coordinator does not accept"
                let status = RPCStatus(.permissionDenied, "\(what) from a key authorized as \(role.map { $0.isEmpty ? "nothing" : $0 } ?? "nothing")")
                return .deny(stamp(Envelope(requestID: env.requestID, status: status, body: .error(status))))
            }
        }
        if PeerRole.isWorkerReply(env.body), env.incarnation != incarnation {
            staleReplies += 1
            let n = staleReplies
            let log = n <= 4 || n & (n - 1) == 0
                ? "dropped a reply to request \(env.requestID) of another coordinator run (incarnation \(env.incarnation), this run \(incarnation)); \(n) so far"
                : nil
            return .drop(log: log)
        }
        return .admit
    }

    /// `env` as this run sends it (its incarnation stamped).
    public func stamp(_ env: Envelope) -> Envelope {
        var e = env
        e.incarnation = incarnation
        return e
    }

    /// A worker's reply to `request`, carrying the request's incarnation back.
    public static func echo(_ reply: Envelope, of request: Envelope) -> Envelope {
        var r = reply
        r.incarnation = request.incarnation
        return r
    }
}
