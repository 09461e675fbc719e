import CMicroHTTPD
import Foundation

/// An HTTP/1.1 server on libmicrohttpd: one thread per connection, each request's body gathered
/// (up to `maxBodyBytes`) before `handler` runs on that connection's thread and returns the response.
/// A body over the limit is not kept: the handler sees `bodyTooLarge` and answers (413).
/// The only Swift file that calls libmicrohttpd.
public final class HTTPServer: @unchecked Sendable {
    /// Called once per request with the whole body; may block (its connection waits).
    public typealias Handler = @Sendable (HTTPRequest, _ bodyTooLarge: Bool) -> HTTPResponse

    /// The bound port (the real one when asked for port 0).
    public let port: Int
    /// The bound IPv4 address.
    public let host: String
    let handler: Handler
    let maxBodyBytes: Int
    private var daemon: OpaquePointer?
    private var listenFD: Int32
    private let lock = NSLock()
    /// Requests begun and not yet completed (answered and sent, or dropped).
    private var active = 0

    func requestBegan() { lock.lock(); active += 1; lock.unlock() }
    func requestEnded() { lock.lock(); active -= 1; lock.unlock() }

    /// Requests in progress (from their headers until their response is sent).
    public var activeRequests: Int { lock.lock(); defer { lock.unlock() }; return active }

    /// Waits until no request is in progress or `timeout` seconds pass; true when idle.
    @discardableResult
    public func waitIdle(timeout: Double) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while activeRequests > 0 && Date() < end { usleep(5_000) }
        return activeRequests == 0
    }

    /// Limits on connections, against clients that open many and send nothing (slowloris): past
    /// `maxConnections` in all, or `maxConnectionsPerIP` from one address, libmicrohttpd closes a new
    /// connection at once; a connection silent for `idleTimeout` seconds is closed.
    public struct ConnectionLimits: Sendable {
        /// Connections open at once (each holds a thread and a descriptor; keep it under `ulimit -n`).
        public var maxConnections = 512
        /// Connections open at once from one IP address.
        public var maxConnectionsPerIP = 128
        /// Seconds a connection may stay silent (while its request arrives, or idle between requests).
        public var idleTimeout = 10
        public init() {}
    }

    /// Binds `host:port` (IPv4; "localhost" is 127.0.0.1; port 0 picks a free port) and starts serving.
    public init(host: String, port: Int, maxBodyBytes: Int, limits: ConnectionLimits = ConnectionLimits(), handler: @escaping Handler) throws {
        guard limits.maxConnections >= 1, limits.maxConnectionsPerIP >= 1, limits.idleTimeout >= 1 else {
            throw HTTPServerError("connection limits must be at least 1 (got \(limits.maxConnections) connections, "
                                  + "\(limits.maxConnectionsPerIP) per IP, \(limits.idleTimeout) s idle timeout)")
        }
        self.handler = handler
        self.maxBodyBytes = maxBodyBytes
        let h = host == "localhost" ? "127.0.0.1" : host
        (listenFD, self.port) = try Self.listen(host: h, port: port)
        self.host = h
        let fd = listenFD
        let me = Unmanaged.passUnretained(self).toOpaque()
        let flags = UInt32(MHD_USE_THREAD_PER_CONNECTION.rawValue | MHD_USE_INTERNAL_POLLING_THREAD.rawValue
                           | MHD_USE_POLL.rawValue | MHD_USE_ITC.rawValue)
        let completedPtr = OpaquePointer(unsafeBitCast(requestCompleted, to: UnsafeRawPointer.self))
        let options: [CVarArg] = [
            MHD_OPTION.LISTEN_SOCKET.rawValue, fd,
            MHD_OPTION.NOTIFY_COMPLETED.rawValue, completedPtr, OpaquePointer(me),
            MHD_OPTION.CONNECTION_TIMEOUT.rawValue, CUnsignedInt(limits.idleTimeout),
            MHD_OPTION.CONNECTION_LIMIT.rawValue, CUnsignedInt(limits.maxConnections),
            MHD_OPTION.PER_IP_CONNECTION_LIMIT.rawValue, CUnsignedInt(limits.maxConnectionsPerIP),
            MHD_OPTION.END.rawValue,
        ]
        daemon = withVaList(options) { ap in
            MHD_start_daemon_va(flags, 0, nil, nil, accessHandler, me, ap)
        }
        guard daemon != nil else {
            close(fd)
            throw HTTPServerError("libmicrohttpd could not start on \(h):\(self.port)")
        }
    }

    deinit { stop() }

    /// Stops accepting connections (the listening socket closes); open connections keep being served.
    public func quiesce() {
        lock.lock(); defer { lock.unlock() }
        guard let d = daemon, listenFD >= 0 else { return }
        let fd = MHD_quiesce_daemon(d)
        if fd >= 0 { close(fd) }
        listenFD = -1
    }

    /// Stops the server: closes every connection and waits for its threads (handlers must have returned).
    public func stop() {
        lock.lock()
        let d = daemon
        daemon = nil
        let fd = listenFD
        listenFD = -1
        lock.unlock()
        if let d {
            if fd >= 0 { let q = MHD_quiesce_daemon(d); if q >= 0 { close(q) } }
            MHD_stop_daemon(d)
        }
    }

    static func listen(host: String, port: Int) throws -> (Int32, Int) {
        guard (0...65535).contains(port) else { throw HTTPServerError("port \(port) is not in 0...65535") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            throw HTTPServerError("'\(host)' is not an IPv4 address (use e.g. 127.0.0.1 or 0.0.0.0)")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 1024) == 0 else {
            let e = String(cString: strerror(errno)); close(fd)
            throw HTTPServerError("cannot listen on \(host):\(port): \(e)")
        }
        var got = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &got) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, Int(UInt16(bigEndian: got.sin_port)))
    }

    /// MHD_RESPMEM_MUST_COPY (2): libmicrohttpd copies the body. (1, MUST_FREE, would make it free
    /// Swift's buffer: heap corruption.)
    static let mustCopy: MHD_ResponseMemoryMode = {
        precondition(MHD_ResponseMemoryMode.RESPMEM_MUST_COPY.rawValue == 2, "libmicrohttpd's MHD_RESPMEM_MUST_COPY is not 2")
        return .RESPMEM_MUST_COPY
    }()

    /// Sends `r` on `connection` (libmicrohttpd copies the body).
    static func queue(_ r: HTTPResponse, on connection: OpaquePointer?) -> MHD_Result {
        let response = r.body.withUnsafeBytes { b in
            MHD_create_response_from_buffer(b.count, UnsafeMutableRawPointer(mutating: b.baseAddress), HTTPServer.mustCopy)
        }
        guard let response else { return MHD_Result.NO }
        _ = MHD_add_response_header(response, "Content-Type", r.contentType)
        for (k, v) in r.headers { _ = MHD_add_response_header(response, k, v) }
        let rc = MHD_queue_response(connection, UInt32(r.status), response)
        MHD_destroy_response(response)
        return rc
    }
}

/// One request in progress: its head and the body gathered so far (lives in libmicrohttpd's `con_cls`).
final class PendingRequest {
    var request: HTTPRequest
    var tooLarge = false
    var answered = false
    init(_ r: HTTPRequest) { request = r }
}

/// libmicrohttpd calls this after the headers, once per body piece, and once more at the end.
private let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, upload, uploadSize, conCls in
    guard let cls, let conCls, let uploadSize else { return MHD_Result.NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    guard let existing = conCls.pointee else {
        var path = url.map { String(cString: $0) } ?? "/"
        if let q = path.firstIndex(of: "?") { path = String(path[..<q]) }
        let contentType = MHD_lookup_connection_value(connection, MHD_ValueKind.HEADER_KIND, "Content-Type").map { String(cString: $0) }
        let pending = PendingRequest(HTTPRequest(method: method.map { String(cString: $0) } ?? "GET", path: path,
                                                 contentType: contentType, arrived: Date().timeIntervalSince1970))
        if let cl = MHD_lookup_connection_value(connection, MHD_ValueKind.HEADER_KIND, "Content-Length"),
           let n = Int(String(cString: cl)), n > server.maxBodyBytes {
            pending.tooLarge = true
        }
        conCls.pointee = Unmanaged.passRetained(pending).toOpaque()
        server.requestBegan()
        if pending.tooLarge {
            // Refuse before reading the body; libmicrohttpd closes the connection after the reply.
            pending.answered = true
            return HTTPServer.queue(server.handler(pending.request, true), on: connection)
        }
        return MHD_Result.YES
    }
    let pending = Unmanaged<PendingRequest>.fromOpaque(existing).takeUnretainedValue()
    if uploadSize.pointee > 0 {
        let n = uploadSize.pointee
        if !pending.tooLarge, let upload {
            if pending.request.body.count + n > server.maxBodyBytes {
                pending.tooLarge = true
                pending.request.body = []
            } else {
                upload.withMemoryRebound(to: UInt8.self, capacity: n) { pending.request.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: n)) }
            }
        }
        uploadSize.pointee = 0
        return MHD_Result.YES
    }
    if pending.answered { return MHD_Result.YES }
    pending.answered = true
    return HTTPServer.queue(server.handler(pending.request, pending.tooLarge), on: connection)
}

/// libmicrohttpd calls this when a request is over (answered or dropped): frees its `PendingRequest`.
private let requestCompleted: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                                              MHD_RequestTerminationCode) -> Void = { cls, _, conCls, _ in
    guard let conCls, let p = conCls.pointee else { return }
    if let cls { Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().requestEnded() }
    Unmanaged<PendingRequest>.fromOpaque(p).release()
    conCls.pointee = nil
}
