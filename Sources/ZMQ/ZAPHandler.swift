import CZeroMQ
import Foundation

/// A ZAP (ZeroMQ Authentication Protocol, RFC 27) handler: a REP socket on
/// inproc://zeromq.zap.01 in the server's context, on its own thread, that accepts a CURVE
/// client only when its public key is in the allow-list. Must be started before the CURVE
/// server socket binds; stop it before the context is released.
public final class ZAPHandler: @unchecked Sendable {
    private let socket: Socket
    private let lock = NSLock()
    private var stopping = false
    private var allowed: Set<[UInt8]>
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)
    private var _refused = 0
    private var _accepted = 0

    /// - Parameter allowedClientKeys: Z85 public keys of the clients that may connect.
    public init(context: Context, allowedClientKeys: [String]) throws {
        allowed = Set(try allowedClientKeys.map { try Curve.checkedKey($0, "allowed client key") })
        socket = try context.socket(.rep)
        try socket.bind("inproc://zeromq.zap.01")
        let t = Thread { [unowned self] in self.loop() }
        t.name = "strata-zap"
        thread = t
        t.start()
    }

    /// Connections refused so far.
    public var refused: Int { lock.lock(); defer { lock.unlock() }; return _refused }
    /// Connections accepted so far.
    public var accepted: Int { lock.lock(); defer { lock.unlock() }; return _accepted }

    /// Adds a client key at runtime.
    public func allow(_ key: String) throws {
        let raw = try Curve.checkedKey(key, "allowed client key")
        lock.lock(); allowed.insert(raw); lock.unlock()
    }

    /// Stops the thread and closes the socket (waits for the thread).
    public func stop() {
        lock.lock()
        let already = stopping
        stopping = true
        lock.unlock()
        if !already, thread != nil { done.wait() }
    }

    deinit { stop() }

    private func loop() {
        defer { socket.close(); done.signal() }
        var poller = Poller([socket])
        while true {
            lock.lock(); let stop = stopping; lock.unlock()
            if stop { return }
            guard let ready = try? poller.poll(timeoutMilliseconds: 100), ready[0] else { continue }
            guard let request = try? socket.receiveMultipart(dontWait: true) else { continue }
            let reply = answer(request)
            _ = try? socket.send(multipart: reply)
        }
    }

    /// RFC 27 request: version, request id, domain, address, identity, mechanism, credentials...
    private func answer(_ f: [[UInt8]]) -> [[UInt8]] {
        let version: [UInt8] = Array("1.0".utf8)
        guard f.count >= 6, f[0] == version else {
            return [version, f.count > 1 ? f[1] : [], Array("400".utf8), Array("malformed ZAP request".utf8), [], []]
        }
        let mechanism = String(decoding: f[5], as: UTF8.self)
        var ok = false
        if mechanism == "CURVE", f.count >= 7, f[6].count == 32 {
            lock.lock(); ok = allowed.contains(f[6]); lock.unlock()
        }
        lock.lock(); if ok { _accepted += 1 } else { _refused += 1 }; lock.unlock()
        let userID: [UInt8] = ok ? Array(((try? Curve.z85Encode(f[6])) ?? "").utf8) : []
        return [version, f[1], Array((ok ? "200" : "400").utf8),
                Array((ok ? "OK" : "client key not allowed").utf8), userID, []]
    }
}
