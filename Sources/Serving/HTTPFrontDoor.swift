import Cluster
import Dispatch
import Foundation
import HTTP
import Wire

/// The coordinator's HTTP front door: OpenAI / TEI compatible routes and Strata's /search,
/// health, readiness, info and Prometheus metrics. Each request becomes the same client message
/// a ZeroMQ client sends (EmbedTextsRequest, RerankTextsRequest, SearchRequest), handed to the
/// coordinator's event loop through its `ClientGateway`; the connection's thread waits for the
/// reply. Nothing here touches the coordinator's state.
public final class HTTPFrontDoor: @unchecked Sendable {
    public struct Options: Sendable {
        /// Largest request body accepted (413 past it).
        public var maxBodyBytes = 2 << 20
        /// Most texts in one request (413 past it).
        public var maxClientBatch = 64
        /// Deadline of a request from its arrival (time queued counts), seconds.
        public var deadline = ProtocolConstants.searchDeadline
        /// Name reported as the model of /v1/embeddings replies.
        public var modelName = "strata"
        /// The coordinator's --max-top-k: /search refuses a top_k outside 1...maxTopK with the
        /// coordinator's own message (`Coordinator.topKOutOfRange`).
        public var maxTopK = ProtocolConstants.defaultMaxTopK
        /// Connection limits against stalled clients (slowloris).
        public var connections = HTTPServer.ConnectionLimits()
        public init() {}
    }

    let gateway: ClientGateway
    let options: Options
    let metrics = ServingMetrics()
    private var server: HTTPServer?
    private let lock = NSLock()
    private var draining = false
    /// The bound port (the real one when asked for port 0).
    public let port: Int
    public let host: String

    /// Starts serving on `host:port` (IPv4; port 0 picks a free port).
    public init(host: String, port: Int, gateway: ClientGateway, options: Options = Options()) throws {
        self.gateway = gateway
        self.options = options
        // The handler reaches the door through a weak box, set once the door is whole.
        let box = WeakBox()
        let s = try HTTPServer(host: host, port: port, maxBodyBytes: options.maxBodyBytes, limits: options.connections) { request, tooLarge in
            guard let me = box.door else { return RequestError.unavailable("the server is starting").response }
            return me.handle(request, tooLarge: tooLarge)
        }
        server = s
        self.port = s.port
        self.host = s.host
        box.door = self
    }

    final class WeakBox: @unchecked Sendable { weak var door: HTTPFrontDoor? }

    /// Drain starts: /ready and every new embed/rerank/search request answer 503 (so a load
    /// balancer takes this server out while what is in flight finishes); /health stays 200.
    public func beginDrain() {
        lock.lock(); draining = true; lock.unlock()
    }

    var isDraining: Bool { lock.lock(); defer { lock.unlock() }; return draining }

    /// Stops the server once the coordinator has answered every request it was handed: no new
    /// connection is accepted, the answers being sent go out (up to `timeout` seconds), then
    /// every connection closes.
    public func stop(timeout: Double = 5) {
        lock.lock(); let s = server; server = nil; lock.unlock()
        s?.quiesce()
        s?.waitIdle(timeout: timeout)
        s?.stop()
    }

    static let routes: Set<String> = ["/v1/embeddings", "/embed", "/rerank", "/search", "/health", "/ready", "/info", "/metrics"]

    func handle(_ r: HTTPRequest, tooLarge: Bool) -> HTTPResponse {
        let route = Self.routes.contains(r.path) ? r.path : "other"
        var response: HTTPResponse
        do {
            if tooLarge { throw RequestError.tooLarge("the request body is over \(options.maxBodyBytes) bytes (--max-body-bytes)") }
            response = try dispatch(r)
        } catch let e as RequestError {
            response = e.response
        } catch {
            response = RequestError(status: 500, type: "internal", message: "\(error)").response
        }
        if isDraining { response.headers.append(("Connection", "close")) }
        metrics.record(route: route, status: response.status, seconds: max(0, Date().timeIntervalSince1970 - r.arrived))
        return response
    }

    func dispatch(_ r: HTTPRequest) throws -> HTTPResponse {
        let get = ["/health", "/ready", "/info", "/metrics"], post = ["/v1/embeddings", "/embed", "/rerank", "/search"]
        if get.contains(r.path) {
            guard r.method == "GET" || r.method == "HEAD" else { throw RequestError.methodNotAllowed("\(r.path) answers GET") }
        } else if post.contains(r.path) {
            guard r.method == "POST" else { throw RequestError.methodNotAllowed("\(r.path) answers POST") }
            if isDraining { throw RequestError.unavailable("the coordinator is shutting down") }
        } else {
            throw RequestError.notFound("no route \(r.path) (routes: \(Self.routes.sorted().joined(separator: ", ")))")
        }
        switch r.path {
        case "/health": return HTTPResponse(status: 200, text: #"{"status":"ok"}"#)
        case "/ready": return try ready()
        case "/info": return try info()
        case "/metrics": return try metricsText()
        case "/v1/embeddings": return try openAIEmbeddings(r)
        case "/embed": return try teiEmbed(r)
        case "/rerank": return try teiRerank(r)
        default: return try search(r)
        }
    }

    // MARK: the coordinator, through the gateway

    final class ReplyBox: @unchecked Sendable {
        let done = DispatchSemaphore(value: 0)
        var envelope: Envelope?
        var snapshot: CoordinatorSnapshot?
    }

    /// Sends `body` to the coordinator with a deadline counted from the request's arrival, and
    /// waits for the reply: the reply's body, or the RequestError its status maps to.
    func call(_ body: Body, arrived: Double) throws -> Body {
        let deadline = arrived + options.deadline
        let box = ReplyBox()
        gateway.call(Envelope(requestID: 1, deadlineUnixMs: Int64(deadline * 1000), body: body)) { env in
            box.envelope = env
            box.done.signal()
        }
        // The coordinator answers by the deadline; the margin covers a loop turn.
        if box.done.wait(timeout: .now() + max(0, deadline - Date().timeIntervalSince1970) + 2) == .timedOut {
            throw RequestError.deadline("no answer from the coordinator before the deadline")
        }
        let env = box.envelope!
        if let s = env.status, s.code != .ok { throw RequestError(s) }
        if case .error(let s) = env.body { throw RequestError(s) }
        return env.body
    }

    /// The coordinator's state, read on its loop.
    func snapshot() throws -> CoordinatorSnapshot {
        let box = ReplyBox()
        let queued = gateway.inspect { server in
            box.snapshot = server.snapshot()
            box.done.signal()
        }
        guard queued, box.done.wait(timeout: .now() + 5) == .success, let s = box.snapshot else {
            throw RequestError.unavailable("the coordinator's event loop is not answering")
        }
        return s
    }

    // MARK: health, readiness, info, metrics

    func ready() throws -> HTTPResponse {
        if isDraining { throw RequestError.unavailable("the coordinator is shutting down") }
        let s = try snapshot()
        guard s.ready else { throw RequestError.unavailable(s.notReadyReason) }
        return HTTPResponse(status: 200, text: #"{"status":"ready"}"#)
    }

    func info() throws -> HTTPResponse {
        let s = try snapshot()
        var j = JSONOut()
        j.raw("{"); j.key("name", first: true); j.string("strata")
        j.key("version"); j.string(ServingVersion.string)
        j.key("protocol_version"); j.number(ProtocolConstants.protocolVersion)
        j.key("embedding_model"); model(&j, s.deModel, s.deMaxLength, s.deDimension)
        j.key("rerank_model"); model(&j, s.ceModel, s.ceMaxLength, nil)
        j.key("documents"); j.number(s.documents)
        j.key("shards"); j.number(s.shardReplicas.count)
        j.key("workers"); j.number(s.workersLive)
        j.key("max_client_batch"); j.number(options.maxClientBatch)
        j.key("max_body_bytes"); j.number(options.maxBodyBytes)
        j.key("max_concurrent_requests"); j.number(s.limits.maxConcurrentRequests)
        j.key("auto_truncate"); j.bool(s.limits.autoTruncate)
        j.raw("}")
        return HTTPResponse(status: 200, body: j.bytes)
    }

    private func model(_ j: inout JSONOut, _ path: String?, _ maxLength: Int?, _ dimension: Int?) {
        guard let path else { j.raw("null"); return }
        j.raw("{"); j.key("path", first: true); j.string(path)
        j.key("max_input_length"); if let m = maxLength { j.number(m) } else { j.raw("null") }
        if let d = dimension { j.key("dimension"); j.number(d) }
        j.raw("}")
    }

    func metricsText() throws -> HTTPResponse {
        let s = try snapshot()
        var t = metrics.render()
        func gauge(_ name: String, _ help: String, _ lines: [(String, Double)]) {
            t += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for (labels, v) in lines { t += "\(name)\(labels) \(v)\n" }
        }
        gauge("strata_ready", "1 when every shard has a ready replica and the models are loaded.", [("", s.ready ? 1 : 0)])
        gauge("strata_queue_depth", "Client requests in the coordinator (in flight) and waiting for its loop (queued).",
              [("{state=\"in_flight\"}", Double(s.clientRequestsInFlight)), ("{state=\"queued\"}", Double(gateway.queued))])
        gauge("strata_workers_live", "Live workers.", [("", Double(s.workersLive))])
        gauge("strata_shard_ready_replicas", "Ready replicas of each shard on live workers.",
              s.shardReplicas.enumerated().map { ("{shard=\"\($0.offset)\"}", Double($0.element)) })
        gauge("strata_job_documents_done", "Documents embedded by each batch job.", s.jobs.map { ("{job=\"\($0.id)\"}", Double($0.docsDone)) })
        gauge("strata_job_documents_total", "Documents of each batch job.", s.jobs.map { ("{job=\"\($0.id)\"}", Double($0.docsTotal)) })
        t += "# HELP strata_query_cache_texts_total Texts the coordinator's query encoder answered from its cache (hit) or embedded (miss).\n"
            + "# TYPE strata_query_cache_texts_total counter\n"
            + "strata_query_cache_texts_total{result=\"hit\"} \(s.queryCacheHits)\n"
            + "strata_query_cache_texts_total{result=\"miss\"} \(s.queryCacheMisses)\n"
        return HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4", text: t)
    }
}

/// The version /info reports.
public enum ServingVersion {
    public static let string = "0.2.0"
}
