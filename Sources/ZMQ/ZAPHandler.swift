import CZeroMQ
import Foundation

/// A ZAP (ZeroMQ Authentication Protocol, RFC 27) handler: a REP socket on
/// inproc://zeromq.zap.01 in the server's context, on its own thread, that accepts a CURVE
/// client only when its public key is in one of the allow-lists, and names the list it was found
/// in as the connection's User-Id (read on each received message with `Socket.receiveMultipart
/// (dontWait:property:)` and the property "User-Id"). Must be started before the CURVE server
/// socket binds; stop it before the context is released.
public final class ZAPHandler: @unchecked Sendable {
    private let socket: Socket
    private let lock = NSLock()
    private var stopping = false
    /// Raw public key -> the role (User-Id) given to connections made with it.
    private var roles: [[UInt8]: String]
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)
    private var _refused = 0
    private var _accepted = 0

    /// - Parameter allowedClientKeys: Z85 public keys of the clients that may connect; each
    ///   connection gets the User-Id "client".
    public convenience init(context: Context, allowedClientKeys: [String]) throws {
        try self.init(context: context, roles: ["client": allowedClientKeys])
    }

    /// - Parameter roles: role name (the User-Id its connections get) -> the Z85 public keys of
    ///   that role. A key listed under two roles is refused here (EINVAL): a connection has one role.
    public init(context: Context, roles byRole: [String: [String]]) throws {
        var table: [[UInt8]: String] = [:]
        for role in byRole.keys.sorted() {
            for key in byRole[role]! {
                let raw = try Curve.checkedKey(key, "allowed \(role) key")
                if let other = table[raw], other != role {
                    throw ZMQError(code: EINVAL, operation: "CURVE key \(key) is listed as both \(other) and \(role): give each role its own key pair")
                }
                table[raw] = role
            }
        }
        roles = table
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

    /// Adds a key at runtime, with the role "client" unless another is given.
    public func allow(_ key: String, role: String = "client") throws {
        let raw = try Curve.checkedKey(key, "allowed \(role) key")
        lock.lock(); defer { lock.unlock() }
        if let other = roles[raw], other != role {
            throw ZMQError(code: EINVAL, operation: "CURVE key \(key) is already allowed as \(other)")
        }
        roles[raw] = role
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
    /// The reply's user id is the role of the key (the allow-list it is in).
    private func answer(_ f: [[UInt8]]) -> [[UInt8]] {
        let version: [UInt8] = Array("1.0".utf8)
        guard f.count >= 6, f[0] == version else {
            return [version, f.count > 1 ? f[1] : [], Array("400".utf8), Array("malformed ZAP request".utf8), [], []]
        }
        let mechanism = String(decoding: f[5], as: UTF8.self)
        var role: String?
        if mechanism == "CURVE", f.count >= 7, f[6].count == 32 {
            lock.lock(); role = roles[f[6]]; lock.unlock()
        }
        lock.lock(); if role != nil { _accepted += 1 } else { _refused += 1 }; lock.unlock()
        return [version, f[1], Array((role != nil ? "200" : "400").utf8),
                Array((role != nil ? "OK" : "key not allowed").utf8), Array((role ?? "").utf8), []]
    }
}
