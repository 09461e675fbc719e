/// An HTTP request as the front door sees it, after its whole body was received.
public struct HTTPRequest: Sendable {
    /// "GET", "POST", ...
    public var method: String
    /// The path, without the query string ("/v1/embeddings").
    public var path: String
    /// The body bytes (at most the server's `maxBodyBytes`).
    public var body: [UInt8]
    /// The Content-Type header, if any.
    public var contentType: String?
    /// Wall-clock time (seconds since 1970) when the request's headers arrived.
    public var arrived: Double

    public init(method: String, path: String, body: [UInt8] = [], contentType: String? = nil, arrived: Double = 0) {
        self.method = method; self.path = path; self.body = body; self.contentType = contentType; self.arrived = arrived
    }
}

/// An HTTP response: status, content type, body, and extra headers.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var headers: [(String, String)]

    public init(status: Int, contentType: String = "application/json", body: [UInt8], headers: [(String, String)] = []) {
        self.status = status; self.contentType = contentType; self.body = body; self.headers = headers
    }

    public init(status: Int, contentType: String = "application/json", text: String, headers: [(String, String)] = []) {
        self.init(status: status, contentType: contentType, body: Array(text.utf8), headers: headers)
    }
}

/// A server that could not start (bad address, port in use, libmicrohttpd refusing).
public struct HTTPServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
