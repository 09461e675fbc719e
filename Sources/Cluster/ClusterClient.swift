import Foundation
import Wire
import ZMQ

/// A synchronous client of the coordinator (DEALER): one request at a time, with a timeout.
public final class ClusterClient {
    let context: Context
    let socket: Socket
    var nextID: UInt64 = 1

    public init(endpoint: String, keys: CurveKeys? = nil) throws {
        context = try Context()
        socket = try context.socket(.dealer)
        try socket.setMaxMessageSize(Int64(ProtocolConstants.maxFrameBytes))
        if let keys { try keys.secureClient(socket) }
        try socket.connect(endpoint)
    }

    deinit { socket.close() }

    /// `seconds` as whole milliseconds, clamped to 0...10^15 (about 31,700 years) so that no
    /// finite or infinite value traps in the conversion; NaN gives 0.
    public static func milliseconds(_ seconds: Double) -> Int64 {
        let ms = seconds * 1000
        guard !ms.isNaN else { return 0 }
        return Int64(min(max(ms, 0), 1e15))
    }

    public struct ClientError: Error, CustomStringConvertible { public let description: String }

    /// Sends `body` and waits up to `timeout` seconds for the reply with the same request id.
    /// A reply whose status is not OK throws it.
    public func call(_ body: Body, timeout: Double = ProtocolConstants.clientCallTimeout, deadline: Double? = nil) throws -> Body {
        let id = nextID; nextID += 1
        let dl = deadline.map { Self.milliseconds($0) } ?? 0
        try socket.send(try Wire.encode(Envelope(requestID: id, deadlineUnixMs: dl, body: body)))
        let end = Date().addingTimeInterval(timeout)
        var poller = Poller([socket])
        while Date() < end {
            let ms = max(1, Int(Self.milliseconds(end.timeIntervalSinceNow)))
            guard try poller.poll(timeoutMilliseconds: min(ms, Int(ProtocolConstants.clientPollInterval * 1000)))[0] else { continue }
            while let frames = try socket.receiveMultipart(dontWait: true) {
                guard let last = frames.last, let env = try? Wire.decode(last), env.requestID == id else { continue }
                if let s = env.status, s.code != .ok { throw s }
                if case .error(let s) = env.body { throw s }
                return env.body
            }
        }
        throw ClientError(description: "no reply from the coordinator within \(timeout) s (is it running, and are the CURVE keys right?)")
    }
}
