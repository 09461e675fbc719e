import Foundation
import Wire
import ZMQ

/// The worker's shell: a DEALER socket to the coordinator, Paranoid-Pirate heartbeats and
/// reconnects (`WorkerLiveness`), and a `WorkerScheduler` computing on its own thread, so
/// heartbeats keep flowing while a chunk is embedded and serving requests go before chunks.
/// Compute results come back to this loop over an inproc PAIR socket. Asked to leave
/// (SIGTERM), it tells the coordinator (WorkerLeavingRequest), keeps serving what it is sent
/// until the coordinator has moved its shards and replied, finishes what it holds, and returns.
public final class WorkerServer {
    public let workerID: String
    let endpoint: String
    let keys: CurveKeys?
    let service: WorkerService
    let context: Context
    let scheduler: WorkerScheduler
    let inbox: Socket          // this loop's end of the PAIR
    let outbox: Socket         // the compute thread's and the search queue's end
    let outboxLock = NSLock()  // one user of `outbox` at a time
    var log: (String) -> Void
    /// Longest a drain waits for the coordinator's reply and then for work in hand, seconds.
    public var drainTimeout = ProtocolConstants.workerDrainTimeout

    public init(coordinator endpoint: String, service: WorkerService, keys: CurveKeys? = nil, workerID: String? = nil,
                log: @escaping (String) -> Void = { _ in }) throws {
        self.endpoint = endpoint
        self.service = service
        self.keys = keys
        self.log = log
        self.workerID = workerID ?? "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
        context = try Context()
        inbox = try context.socket(.pair)
        let address = "inproc://strata-worker-results-\(UUID().uuidString)"
        try inbox.bind(address)
        outbox = try context.socket(.pair)
        try outbox.connect(address)
        let out = outbox, sendLock = outboxLock
        scheduler = WorkerScheduler(service: service, deliver: { reply in
            // called from the compute thread and the search queue: one sender at a time
            guard let bytes = try? Wire.encode(reply) else { return }
            sendLock.lock(); _ = try? out.send(bytes); sendLock.unlock()
        })
    }

    func connect() throws -> Socket {
        let s = try context.socket(.dealer)
        try s.setRoutingID(Array(workerID.utf8))
        try s.setMaxMessageSize(Int64(ProtocolConstants.maxFrameBytes))
        if let keys { try keys.secureWorker(s) }
        try s.connect(endpoint)
        let reg = RegisterRequest(workerID: workerID, protocolVersion: ProtocolConstants.protocolVersion, shardsHeld: service.shardsOnDisk(),
                                  precision: service.engine.precisionName)
        try s.send(try Wire.encode(Envelope(requestID: 1, body: .registerRequest(reg))))
        return s
    }

    /// Runs until `stop()` returns true (at once: queued work is dropped), or, once `leave()`
    /// returns true, until the drain is over (the coordinator replied and the work in hand is
    /// answered, or `drainTimeout` passed, or the coordinator went silent).
    public func run(until stop: @escaping () -> Bool, leave: @escaping () -> Bool = { false }) throws {
        var dealer = try connect()
        var liveness = WorkerLiveness(now: Date().timeIntervalSince1970)
        var seq: UInt64 = 0
        var leaveSent: Double?
        var leaveAnswered = false
        scheduler.start()
        defer {
            scheduler.stop()
            outboxLock.lock(); outbox.close(); outboxLock.unlock()
            dealer.close()
        }
        log("worker \(workerID) connecting to \(endpoint)")
        func forwardReplies(_ now: Double) throws {
            while let frames = try inbox.receiveMultipart(dontWait: true) {
                for f in frames { try dealer.send(f); liveness.sent(now: now) }
            }
        }
        while !stop() {
            var now = Date().timeIntervalSince1970
            if leaveSent == nil && leave() {
                log("leaving: asking the coordinator to move this worker's shards")
                try dealer.send(try Wire.encode(Envelope(requestID: 2, body: .workerLeavingRequest(WorkerLeavingRequest(workerID: workerID)))))
                liveness.sent(now: now)
                leaveSent = now
            }
            var poller = Poller([dealer, inbox])
            let ready = try poller.poll(timeoutMilliseconds: Int((leaveSent == nil ? ProtocolConstants.workerPollInterval : ProtocolConstants.workerLeavingPollInterval) * 1000))
            now = Date().timeIntervalSince1970
            if ready[0] {
                while let frames = try dealer.receiveMultipart(dontWait: true) {
                    liveness.heard(now: now)
                    guard let frame = frames.last else { continue }
                    let env: Envelope
                    do { env = try Wire.decode(frame) } catch let e as WireError {
                        log("bad frame from the coordinator: \(e)"); continue
                    }
                    if case .error(let s) = env.body, env.requestID == 1 {
                        // The answer to RegisterRequest (request 1) is a refusal: another protocol
                        // version or precision. Registering again would be refused again.
                        throw EngineError(s.code, "the coordinator refused this worker: \(s.message)")
                    }
                    if case .error(let s) = env.body, env.requestID == 0, s.code == .failedPrecondition {
                        if leaveSent != nil {
                            // The coordinator has forgotten us (drained, or restarted): nothing to move.
                            leaveAnswered = true; continue
                        }
                        // The coordinator lost us (declared dead, or it restarted): register again.
                        log("coordinator asks to register again: \(s.message)")
                        dealer.close(); dealer = try connect(); continue
                    }
                    if case .workerLeavingReply(let r) = env.body {
                        log("coordinator: \(r.shardsMoved) shard(s) moved\(r.complete ? "" : " (incomplete: \(r.message))"); finishing work in hand")
                        leaveAnswered = true; continue
                    }
                    scheduler.submit(env)
                }
            }
            if ready[1] { try forwardReplies(now) }
            if let sent = leaveSent {
                if leaveAnswered && scheduler.idle {
                    try forwardReplies(now)
                    try dealer.setLinger(milliseconds: 2000)   // let the last replies leave before close
                    log("drained: exiting")
                    return
                }
                if now - sent > drainTimeout {
                    log("drain: no end within \(drainTimeout) s: exiting"); return
                }
            }
            for d in liveness.tick(now: now) {
                switch d {
                case .sendHeartbeat:
                    seq += 1
                    try dealer.send(try Wire.encode(Envelope(requestID: 0, body: .heartbeat(Heartbeat(workerID: workerID, sequence: seq)))))
                case .reconnect(let after):
                    if leaveSent != nil { log("coordinator silent while leaving: exiting"); return }
                    log("coordinator silent for \(liveness.liveness) heartbeats: reconnecting in \(after) s")
                    dealer.close()
                    let until = Date().addingTimeInterval(after)
                    while Date() < until && !stop() { usleep(useconds_t(ProtocolConstants.workerReconnectSleep * 1_000_000)) }
                    dealer = try connect()
                }
            }
        }
    }
}
