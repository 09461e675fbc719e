import Foundation
import Wire
import ZMQ

/// Hands client requests from other threads (the HTTP front door's connection threads) to the
/// coordinator's event loop, which alone touches the coordinator's state. A request waits in a
/// locked queue; a byte on an inproc PAIR socket wakes the loop's poller. The loop gives each
/// request a synthetic peer id and feeds it to the state machine exactly as a ZeroMQ client's
/// frame; the reply addressed to that peer goes to the request's completion instead of the ROUTER.
public final class ClientGateway: @unchecked Sendable {
    /// Called on the event loop's thread with the coordinator's reply.
    public typealias Completion = @Sendable (Envelope) -> Void
    /// Called on the event loop's thread with the server, to read its state.
    public typealias Inspection = @Sendable (CoordinatorServer) -> Void

    enum Item {
        case call(Envelope, Completion)
        case inspect(Inspection)
    }

    private let lock = NSLock()
    private var items: [Item] = []
    private var closed = false
    /// The loop's end (in its poller) and the senders' end (used under `lock`).
    let receiver: Socket
    private let sender: Socket

    init(context: Context) throws {
        let endpoint = "inproc://strata-gateway-\(UUID().uuidString)"
        receiver = try context.socket(.pair)
        try receiver.bind(endpoint)
        sender = try context.socket(.pair)
        try sender.connect(endpoint)
    }

    deinit { sender.close(); receiver.close() }

    /// Queues a client request; `completion` gets the reply (or UNAVAILABLE once the loop has stopped).
    public func call(_ env: Envelope, completion: @escaping Completion) {
        guard enqueue(.call(env, completion)) else {
            let s = RPCStatus(.unavailable, "the coordinator has stopped")
            completion(Envelope(requestID: env.requestID, status: s, body: .error(s)))
            return
        }
    }

    /// Runs `f` on the event loop (to read the coordinator's state); false when the loop has stopped.
    @discardableResult
    public func inspect(_ f: @escaping Inspection) -> Bool { enqueue(.inspect(f)) }

    /// Requests queued and not yet taken by the loop.
    public var queued: Int { lock.lock(); defer { lock.unlock() }; return items.count }

    private func enqueue(_ item: Item) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard !closed else { return false }
        let wasEmpty = items.isEmpty
        items.append(item)
        // One wake-up per batch: the loop takes everything queued when it wakes.
        if wasEmpty { _ = try? sender.send([1], dontWait: true) }
        return true
    }

    /// The loop's side: everything queued, in order (and the wake-up bytes consumed).
    func take() -> [Item] {
        while (try? receiver.receiveFrame(dontWait: true)) != nil {}
        lock.lock(); defer { lock.unlock() }
        let all = items
        items = []
        return all
    }

    /// Refuses requests from now on; returns those still queued.
    func close() -> [Item] {
        lock.lock(); defer { lock.unlock() }
        closed = true
        let all = items
        items = []
        return all
    }
}
