import Foundation
import Cluster
import Serving

/// `strata coordinator`: membership, shard map, scatter-gather search and batch jobs.
enum CoordinatorCommand: Subcommand {
    static let name = "coordinator"
    static let summary = "run the cluster coordinator (search serving and batch jobs)"
    static let usage = """
    usage: strata coordinator --data-dir DIR [--bind ADDR] [--corpus FILE --model DIR [--ce DIR]
                              [--shards S] [--replication R] [--retrieval-layer K]] [--keys DIR] [--jobs-root DIR]
                              [--endpoint-file FILE] [--quiet] [--max-top-k N] [--max-rerank N]
                              [--http HOST:PORT [--http-endpoint-file FILE]] [--max-client-batch N] [--max-body-bytes N]
                              [--max-concurrent-requests N] [--auto-truncate] [--grace S]
                              [--query-embedding coordinator|workers] [--precision fp32|bf16|int8]
                              [--http-max-connections N] [--http-max-connections-per-ip N] [--http-idle-timeout S]

      --bind ADDR          ZeroMQ endpoint to serve on (workers and clients connect here; default
                           \(defaultCoordinatorBind); another address without --keys prints a warning)
      --jobs-root DIR      batch jobs' corpora and outputs must resolve inside DIR (without it: no jobs)
      --data-dir DIR       job journals live here; unfinished jobs resume on restart
      --corpus FILE        corpus to serve (.jsonl BEIR or a text per line), sharded over the workers
      --model DIR          dual encoder the workers embed the corpus and the queries with
      --ce DIR             cross encoder for re-ranking
      --retrieval-layer K  one CE for both stages: --model is a cross encoder whose layer-K self-pair
                           embeddings (mean-pooled, L2-normalised) index the corpus and the queries;
                           the same CE re-ranks (--ce defaults to --model), loaded once per worker
      --shards S           number of shards (default 4);  --replication R  copies of each (default 1)
      --keys DIR           CURVE: server.key, authorized_workers and authorized_clients from `strata keys gen`
      --endpoint-file F    write the bound endpoint (useful with port 0) to F
      --settle S           wait S seconds after the first worker registers before placing shards (default 1),
                           so that workers started together share the indexing
      --max-top-k N        largest top_k a search may ask for (default \(ProtocolConstants.defaultMaxTopK)); past it INVALID_ARGUMENT
      --max-rerank N       largest re-rank depth (default \(ProtocolConstants.defaultMaxRerank)); past it INVALID_ARGUMENT
      --http HOST:PORT     also serve HTTP (OpenAI /v1/embeddings, TEI /embed and /rerank, /search, /health,
                           /ready, /info, /metrics); HOST defaults to 127.0.0.1 (":8080" or "8080"), port 0 picks one
      --http-endpoint-file F  write the bound HTTP address (http://HOST:PORT) to F
      --max-client-batch N texts in one embed/rerank request (default 64; HTTP 413 / RESOURCE_EXHAUSTED past it)
      --max-body-bytes N   largest HTTP request body (default 2 MiB; 413 past it)
      --http-max-connections N         HTTP connections open at once (default 512); past it a new one is closed
      --http-max-connections-per-ip N  HTTP connections open at once from one address (default 128)
      --http-idle-timeout S            close an HTTP connection silent for S seconds (default 10)
      --max-concurrent-requests N  client requests in flight (default 256); past it HTTP 429 / RESOURCE_EXHAUSTED at once
      --auto-truncate      cut inputs over the model's max length instead of answering 422 / OUT_OF_RANGE
      --query-embedding W  who embeds queries and embed calls: coordinator (default: --model loaded in this
                           process too, so a query never waits behind a worker's job batch; workers when it
                           cannot be loaded here) or workers
      --precision P        fp32 (default), bf16 or int8 of the coordinator's query encoder (the workers' --precision)
      --grace S            on SIGTERM/SIGINT: refuse new requests (/ready 503), finish those in flight for up
                           to S seconds (default 10), then exit 0
    """

    static func run(_ args: [String]) throws {
        let a = try Arguments(args, command: name, options: ["bind", "data-dir", "corpus", "model", "ce", "shards", "replication", "keys", "endpoint-file", "settle",
                                                            "jobs-root", "max-top-k", "max-rerank", "retrieval-layer",
                                                            "http", "http-endpoint-file", "max-client-batch", "max-body-bytes",
                                                            "max-concurrent-requests", "grace", "query-embedding", "precision",
                                                            "http-max-connections", "http-max-connections-per-ip", "http-idle-timeout"],
                              flags: ["quiet", "auto-truncate"])
        var cfg = CoordinatorConfig()
        cfg.shardCount = try a.int("shards", default: 4, min: 1, max: 4096)!
        cfg.replication = try a.int("replication", default: 1, min: 1, max: 64)!
        cfg.deModel = try a.string("model").map { try resolveModelArgument($0, flag: "model") }
        cfg.ceModel = try a.string("ce").map { try resolveModelArgument($0, flag: "ce") }
        cfg.jobsRoot = try jobsRootOption(a)
        cfg.retrievalLayer = try a.int("retrieval-layer", min: 0, max: 1024)
        if cfg.retrievalLayer != nil {
            guard cfg.deModel != nil else { throw CLIError("--retrieval-layer needs --model (the cross encoder)", usage: true) }
            if cfg.ceModel == nil { cfg.ceModel = cfg.deModel }
        }
        cfg.placementDelay = try a.double("settle", default: 1.0)!
        cfg.maxTopK = try a.int("max-top-k", default: ProtocolConstants.defaultMaxTopK, min: 1, max: ProtocolConstants.maxTopKLimit)!
        cfg.maxRerank = try a.int("max-rerank", default: ProtocolConstants.defaultMaxRerank, min: 1, max: ProtocolConstants.maxTopKLimit)!
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
        let bind = a.string("bind") ?? defaultCoordinatorBind
        let keys = try curveKeys(a)
        warnUnsafeBind(bind, keys: keys != nil)
        let server = try CoordinatorServer(bind: bind, dataDir: URL(fileURLWithPath: try a.required("data-dir")),
                                           config: cfg, corpus: corpus, keys: keys,
                                           log: { if !quiet { note("coordinator: " + $0) } })
        let serving = try servingSetup(a, server)
        if let f = a.string("endpoint-file") { try (server.endpoint + "\n").write(toFile: f, atomically: true, encoding: .utf8) }
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
        limits.maxClientBatch = try a.int("max-client-batch", default: limits.maxClientBatch, min: 1, max: 100_000)!
        limits.maxConcurrentRequests = try a.int("max-concurrent-requests", default: limits.maxConcurrentRequests, min: 1, max: 1_000_000)!
        limits.autoTruncate = a.flag("auto-truncate")
        let grace = try a.double("grace", default: 10)!
        guard grace >= 0 else { throw CLIError("--grace must be >= 0 seconds", usage: true) }
        server.configureServing(limits)
        let embedding = a.string("query-embedding") ?? "coordinator"
        guard ["coordinator", "workers"].contains(embedding) else {
            throw CLIError("--query-embedding \(embedding): expected coordinator or workers", usage: true)
        }
        let precision = try PrecisionOption.parse(a)
        if embedding == "coordinator" && a.string("model") != nil {
            try server.startLocalQueryEncoderInBackground(precision: precision)
        }
        guard let http = a.string("http") else { return (nil, grace) }
        let (host, port) = try parseHostPort(http)
        var options = HTTPFrontDoor.Options()
        options.maxClientBatch = limits.maxClientBatch
        options.maxBodyBytes = try a.int("max-body-bytes", default: options.maxBodyBytes, min: 1024, max: 1 << 30)!
        options.modelName = a.string("model").map { URL(fileURLWithPath: $0).lastPathComponent } ?? "strata"
        options.maxTopK = server.state.config.maxTopK
        options.connections.maxConnections = try a.int("http-max-connections", default: options.connections.maxConnections, min: 1, max: 100_000)!
        options.connections.maxConnectionsPerIP = try a.int("http-max-connections-per-ip", default: options.connections.maxConnectionsPerIP,
                                                            min: 1, max: 100_000)!
        options.connections.idleTimeout = try a.int("http-idle-timeout", default: options.connections.idleTimeout, min: 1, max: 86_400)!
        let door = try HTTPFrontDoor(host: host, port: port, gateway: try server.openGateway(), options: options)
        let address = "http://\(door.host):\(door.port)"
        if let f = a.string("http-endpoint-file") { try (address + "\n").write(toFile: f, atomically: true, encoding: .utf8) }
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
