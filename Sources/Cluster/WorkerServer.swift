import Foundation
import Wire
import ZMQ

/// The worker's shell: a DEALER socket to the coordinator, Paranoid-Pirate heartbeats and
/// reconnects (`WorkerLiveness`), and a compute queue running `WorkerService` so heartbeats keep
/// flowing while a chunk is embedded. Compute results come back over an inproc PAIR socket.
public final class WorkerServer {
    public let workerID: String
    let endpoint: String
    let keys: CurveKeys?
    let service: WorkerService
    let context: Context
    let compute = DispatchQueue(label: "strata.worker.compute")
    let inbox: Socket          // main thread's end of the PAIR
    let outboxAddress: String
    var log: (String) -> Void

    public init(coordinator endpoint: String, service: WorkerService, keys: CurveKeys? = nil, workerID: String? = nil,
                log: @escaping (String) -> Void = { _ in }) throws {
        self.endpoint = endpoint
        self.service = service
        self.keys = keys
        self.log = log
        self.workerID = workerID ?? "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
        context = try Context()
        inbox = try context.socket(.pair)
        outboxAddress = "inproc://strata-worker-results-\(UUID().uuidString)"
        try inbox.bind(outboxAddress)
    }

    func connect() throws -> Socket {
        let s = try context.socket(.dealer)
        try s.setRoutingID(Array(workerID.utf8))
        try s.setMaxMessageSize(Int64(ProtocolConstants.maxFrameBytes))
        if let keys { try keys.secureWorker(s) }
        try s.connect(endpoint)
        let reg = RegisterRequest(workerID: workerID, protocolVersion: ProtocolConstants.protocolVersion, shardsHeld: service.shardsOnDisk())
        try s.send(try Wire.encode(Envelope(requestID: 1, body: .registerRequest(reg))))
        return s
    }

    /// Runs until `stop()` returns true.
    public func run(until stop: @escaping () -> Bool) throws {
        let outbox = try context.socket(.pair)
        try outbox.connect(outboxAddress)
        var dealer = try connect()
        var liveness = WorkerLiveness(now: Date().timeIntervalSince1970)
        var seq: UInt64 = 0
        log("worker \(workerID) connecting to \(endpoint)")
        while !stop() {
            var poller = Poller([dealer, inbox])
            let ready = try poller.poll(timeoutMilliseconds: 100)
            let now = Date().timeIntervalSince1970
            if ready[0] {
                while let frames = try dealer.receiveMultipart(dontWait: true) {
                    liveness.heard(now: now)
                    guard let frame = frames.last else { continue }
                    let env: Envelope
                    do { env = try Wire.decode(frame) } catch let e as WireError {
                        log("bad frame from the coordinator: \(e)"); continue
                    }
                    if case .error(let s) = env.body, env.requestID == 0, s.code == .failedPrecondition {
                        // The coordinator lost us (declared dead, or it restarted): register again.
                        log("coordinator asks to register again: \(s.message)")
                        dealer.close(); dealer = try connect(); continue
                    }
                    switch env.body {
                    case .heartbeat, .registerReply, .error: continue
                    default: break
                    }
                    let service = self.service
                    compute.async {
                        guard let reply = service.handle(env, now: Date().timeIntervalSince1970) else { return }
                        if let bytes = try? Wire.encode(CoordinatorGate.echo(reply, of: env)) { _ = try? outbox.send(bytes) }
                    }
                }
            }
            if ready[1] {
                while let frames = try inbox.receiveMultipart(dontWait: true) {
                    for f in frames { try dealer.send(f); liveness.sent(now: now) }
                }
            }
            for d in liveness.tick(now: now) {
                switch d {
                case .sendHeartbeat:
                    seq += 1
                    try dealer.send(try Wire.encode(Envelope(requestID: 0, body: .heartbeat(Heartbeat(workerID: workerID, sequence: seq)))))
                case .reconnect(let after):
                    log("coordinator silent for \(liveness.liveness) heartbeats: reconnecting in \(after) s")
                    dealer.close()
                    let until = Date().addingTimeInterval(after)
                    while Date() < until && !stop() { usleep(50_000) }
                    dealer = try connect()
                }
            }
        }
        compute.sync {}
        outbox.close()
        dealer.close()
    }
}
