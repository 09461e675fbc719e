import HTTP
import Wire

/// A request the front door answers with an error: HTTP status, `error_type`, message.
/// Bodies are `{"error": message, "error_type": kind}`.
struct RequestError: Error {
    var status: Int
    var type: String
    var message: String

    init(status: Int, type: String, message: String) { self.status = status; self.type = type; self.message = message }

    static func badRequest(_ m: String) -> RequestError { RequestError(status: 400, type: "invalid_request", message: m) }
    static func tooLarge(_ m: String) -> RequestError { RequestError(status: 413, type: "payload_too_large", message: m) }
    static func notFound(_ m: String) -> RequestError { RequestError(status: 404, type: "not_found", message: m) }
    static func methodNotAllowed(_ m: String) -> RequestError { RequestError(status: 405, type: "method_not_allowed", message: m) }
    static func unavailable(_ m: String) -> RequestError { RequestError(status: 503, type: "unavailable", message: m) }
    static func deadline(_ m: String) -> RequestError { RequestError(status: 504, type: "deadline_exceeded", message: m) }

    /// The HTTP form of a coordinator status (the same statuses a ZeroMQ client gets).
    init(_ s: RPCStatus) {
        switch s.code {
        case .invalidArgument, .failedPrecondition: self.init(status: 400, type: "invalid_request", message: s.message)
        case .outOfRange: self.init(status: 422, type: "input_too_long", message: s.message)
        case .resourceExhausted: self.init(status: 429, type: "overloaded", message: s.message)
        case .unavailable: self.init(status: 503, type: "unavailable", message: s.message)
        case .deadlineExceeded: self.init(status: 504, type: "deadline_exceeded", message: s.message)
        case .notFound: self.init(status: 404, type: "not_found", message: s.message)
        default: self.init(status: 500, type: "internal", message: "\(s.code): \(s.message)")
        }
    }

    var response: HTTPResponse {
        var j = JSONOut()
        j.raw("{"); j.key("error", first: true); j.string(message); j.key("error_type"); j.string(type); j.raw("}")
        // 429: tell the client when to come back. (While draining, HTTPFrontDoor adds Connection: close.)
        var headers: [(String, String)] = []
        if status == 429 { headers.append(("Retry-After", "1")) }
        return HTTPResponse(status: status, body: j.bytes, headers: headers)
    }
}
