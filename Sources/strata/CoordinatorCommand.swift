import Foundation
import Cluster
import Serving
import CommandLineFlags

/// `strata coordinator`: membership, shard map, scatter-gather search and batch jobs.
enum CoordinatorCommand: Subcommand {
    static let spec = CommandSpec("coordinator", summary: "run the cluster coordinator (search serving and batch jobs)", flags: [
        .path("data-dir", "DIR", required: true, help: "job journals live here; unfinished jobs resume on restart"),
        .string("bind", "ADDR", default: defaultCoordinatorBind, help: "ZeroMQ endpoint to serve on (workers and clients connect here; another address without --keys prints a warning)"),
        .path("corpus", "FILE", help: "corpus to serve (.jsonl BEIR or a text per line), sharded over the workers (needs --model)"),
        .string("model", "DIR", help: "dual encoder the workers embed the corpus and the queries with"),
        .string("ce", "DIR", help: "cross encoder for re-ranking"),
        .int("retrieval-layer", "K", min: 0, max: 1024, help: "one CE for both stages: --model is a cross encoder whose layer-K self-pair embeddings (mean-pooled, L2-normalised) index the corpus and the queries; the same CE re-ranks (--ce defaults to --model), loaded once per worker"),
        .int("shards", "S", default: 4, min: 1, max: 4096, help: "number of shards"),
        .int("replication", "R", default: 1, min: 1, max: 64, help: "copies of each shard"),
        .path("keys", "DIR", help: "CURVE: server.key, authorized_workers and authorized_clients from `strata keys gen`"),
        .path("jobs-root", "DIR", help: "batch jobs' corpora and outputs must resolve inside DIR (without it: no jobs)"),
        .path("endpoint-file", "FILE", help: "write the bound endpoint (useful with port 0) to FILE"),
        .double("settle", "S", default: 1, help: "wait S seconds after the first worker registers before placing shards, so that workers started together share the indexing"),
        .bool("quiet", help: "no event lines on stderr"),
        .int("max-top-k", default: ProtocolConstants.defaultMaxTopK, min: 1, max: ProtocolConstants.maxTopKLimit, help: "largest top_k a search may ask for; past it INVALID_ARGUMENT"),
        .int("max-rerank", default: ProtocolConstants.defaultMaxRerank, min: 1, max: ProtocolConstants.maxTopKLimit, help: "largest re-rank depth; past it INVALID_ARGUMENT"),
        .string("http", "HOST:PORT", help: "also serve HTTP (OpenAI /v1/embeddings, TEI /embed and /rerank, /search, /health, /ready, /info, /metrics); HOST defaults to 127.0.0.1 (\":8080\" or \"8080\"), port 0 picks one"),
        .path("http-endpoint-file", "FILE", help: "write the bound HTTP address (http://HOST:PORT) to FILE"),
        .int("max-client-batch", defaultNote: "\(ServingLimits().maxClientBatch)", min: 1, max: 100_000, help: "texts in one embed/rerank request (HTTP 413 / RESOURCE_EXHAUSTED past it)"),
        .int("max-body-bytes", defaultNote: "\(HTTPFrontDoor.Options().maxBodyBytes)", min: 1024, max: 1 << 30, help: "largest HTTP request body (413 past it)"),
        .int("max-concurrent-requests", defaultNote: "\(ServingLimits().maxConcurrentRequests)", min: 1, max: 1_000_000, help: "client requests in flight; past it HTTP 429 / RESOURCE_EXHAUSTED at once"),
        .bool("auto-truncate", help: "cut inputs over the model's max length instead of answering 422 / OUT_OF_RANGE"),
        .double("grace", "S", default: 10, .atLeast(0), help: "on SIGTERM/SIGINT: refuse new requests (/ready 503), finish those in flight for up to S seconds, then exit 0"),
        .choice("query-embedding", ["coordinator", "workers"], default: "coordinator", help: "who embeds queries and embed calls: coordinator (--model is loaded in this process too, so a query never waits behind a worker's job batch; workers until it is loaded or when it cannot be) or workers"),
        .int("query-cache", default: 10_000, min: 0, max: 10_000_000, help: "embeddings of this many recent query texts kept by the coordinator's query encoder: a query asked again skips the forward pass; texts over 2,048 bytes are not kept (0: no cache)"),
        CommonFlags.precision("of the cluster: the coordinator's query encoder, and every worker must use the same (one in another precision is refused at registration)"),
        .int("http-max-connections", defaultNote: "\(HTTPFrontDoor.Options().connections.maxConnections)", min: 1, max: 100_000, help: "HTTP connections open at once; past it a new one is closed"),
        .int("http-max-connections-per-ip", defaultNote: "\(HTTPFrontDoor.Options().connections.maxConnectionsPerIP)", min: 1, max: 100_000, help: "HTTP connections open at once from one address"),
        .int("http-idle-timeout", "S", defaultNote: "\(HTTPFrontDoor.Options().connections.idleTimeout)", min: 1, max: 86_400, help: "close an HTTP connection silent for S seconds"),
    ])

    static func run(_ a: Arguments) throws {
        var cfg = CoordinatorConfig()
        cfg.shardCount = a.int("shards")!
        cfg.replication = a.int("replication")!
        cfg.deModel = try a.string("model").map { try resolveModelArgument($0, flag: "model") }
        cfg.ceModel = try a.string("ce").map { try resolveModelArgument($0, flag: "ce") }
        cfg.jobsRoot = try jobsRootOption(a)
        cfg.retrievalLayer = a.int("retrieval-layer")
        cfg.precision = try PrecisionOption.parse(a).rawValue
        if cfg.retrievalLayer != nil {
            guard cfg.deModel != nil else { throw CLIError("--retrieval-layer needs --model (the cross encoder)", usage: true) }
            if cfg.ceModel == nil { cfg.ceModel = cfg.deModel }
        }
        cfg.placementDelay = a.double("settle")!
        cfg.maxTopK = a.int("max-top-k")!
        cfg.maxRerank = a.int("max-rerank")!
        if a.string("corpus") != nil && cfg.deModel == nil { throw CLIError("--corpus needs --model (the DE that embeds it)", usage: true) }
        let corpus = try a.string("corpus").map(CorpusReader.read) ?? []
        // A shard travels in one AssignShard frame: keep each well under the frame limit.
        let textBytes = corpus.reduce(0) { $0 + $1.text.utf8.count + $1.id.utf8.count + 8 }
        let minShards = (textBytes + ProtocolConstants.maxFrameBytes / 2 - 1) / (ProtocolConstants.maxFrameBytes / 2)
        if minShards > cfg.shardCount {
            note("coordinator: \(cfg.shardCount) shards would exceed half the \(ProtocolConstants.maxFrameBytes >> 20) MiB frame limit; using \(minShards)")
            cfg.shardCount = minShards
        }
        let quiet = a.flag("quiet")
        installStopSignals()
        let bind = a.value("bind")
        let keys = try curveKeys(a)
        warnUnsafeBind(bind, keys: keys != nil)
        let server = try CoordinatorServer(bind: bind, dataDir: URL(fileURLWithPath: a.value("data-dir")),
                                           config: cfg, corpus: corpus, keys: keys,
                                           log: { if !quiet { note("coordinator: " + $0) } })
        let serving = try servingSetup(a, server)
        if let f = a.string("endpoint-file") { try writeFileAtomically(Data((server.endpoint + "\n").utf8), to: f) }
        note("coordinator: serving on \(server.endpoint) (\(corpus.count) documents in \(corpus.isEmpty ? 0 : cfg.shardCount) shards)")
        note(cfg.jobsRoot.map { "coordinator: jobs confined to \($0.path)" } ?? "coordinator: no --jobs-root: batch jobs are refused")
        try server.run(until: { stopSignal != 0 })
        // Graceful drain: /ready turns 503, no new request is taken, those in flight finish.
        note("coordinator: stopping: draining for up to \(serving.grace) s")
        serving.door?.beginDrain()
        try server.drain(grace: serving.grace)
        serving.door?.stop()
        note("coordinator: stopped")
    }
}


extension CoordinatorCommand {
    /// Serving limits, and the HTTP front door when `--http` is given.
    static func servingSetup(_ a: Arguments, _ server: CoordinatorServer) throws -> (door: HTTPFrontDoor?, grace: Double) {
        var limits = ServingLimits()
        limits.maxClientBatch = a.int("max-client-batch") ?? limits.maxClientBatch
        limits.maxConcurrentRequests = a.int("max-concurrent-requests") ?? limits.maxConcurrentRequests
        limits.autoTruncate = a.flag("auto-truncate")
        let grace = a.double("grace")!
        server.configureServing(limits)
        let embedding = a.value("query-embedding")
        let precision = try PrecisionOption.parse(a)
        if embedding == "coordinator" && a.string("model") != nil {
            try server.startLocalQueryEncoderInBackground(precision: precision, queryCache: a.int("query-cache")!)
        }
        guard let http = a.string("http") else { return (nil, grace) }
        let (host, port) = try parseHostPort(http)
        var options = HTTPFrontDoor.Options()
        options.maxClientBatch = limits.maxClientBatch
        options.maxBodyBytes = a.int("max-body-bytes") ?? options.maxBodyBytes
        options.modelName = a.string("model").map { URL(fileURLWithPath: $0).lastPathComponent } ?? "strata"
        options.maxTopK = server.state.config.maxTopK
        options.connections.maxConnections = a.int("http-max-connections") ?? options.connections.maxConnections
        options.connections.maxConnectionsPerIP = a.int("http-max-connections-per-ip") ?? options.connections.maxConnectionsPerIP
        options.connections.idleTimeout = a.int("http-idle-timeout") ?? options.connections.idleTimeout
        let door = try HTTPFrontDoor(host: host, port: port, gateway: try server.openGateway(), options: options)
        let address = "http://\(door.host):\(door.port)"
        if let f = a.string("http-endpoint-file") { try writeFileAtomically(Data((address + "\n").utf8), to: f) }
        note("coordinator: HTTP on \(address)")
        if !door.host.hasPrefix("127.") {
            note("coordinator: warning: HTTP has no TLS and no authentication (CURVE keys guard only ZeroMQ): \(door.host) is reachable "
                 + "beyond this host; put a proxy with TLS and authentication in front of it")
        }
        return (door, grace)
    }

    /// "HOST:PORT", ":PORT" or "PORT" (host 127.0.0.1: loopback unless asked otherwise).
    static func parseHostPort(_ s: String) throws -> (String, Int) {
        var host = "127.0.0.1", portText = s
        if let colon = s.lastIndex(of: ":") {
            portText = String(s[s.index(after: colon)...])
            if colon != s.startIndex { host = String(s[..<colon]) }
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw CLIError("--http \(s): expected HOST:PORT with a port in 0...65535", usage: true)
        }
        return (host, port)
    }
}
