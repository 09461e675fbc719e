import Foundation
import Cluster

/// `strata coordinator`: membership, shard map, scatter-gather search and batch jobs.
enum CoordinatorCommand: Subcommand {
    static let name = "coordinator"
    static let summary = "run the cluster coordinator (search serving and batch jobs)"
    static let usage = """
    usage: strata coordinator --data-dir DIR [--bind ADDR] [--corpus FILE --model DIR [--ce DIR]
                              [--shards S] [--replication R]] [--keys DIR] [--jobs-root DIR]
                              [--endpoint-file FILE] [--quiet]

      --bind ADDR          ZeroMQ endpoint to serve on (workers and clients connect here; default
                           \(defaultCoordinatorBind); another address without --keys prints a warning)
      --jobs-root DIR      batch jobs' corpora and outputs must resolve inside DIR (without it: no jobs)
      --data-dir DIR       job journals live here; unfinished jobs resume on restart
      --corpus FILE        corpus to serve (.jsonl BEIR or a text per line), sharded over the workers
      --model DIR          dual encoder the workers embed the corpus and the queries with
      --ce DIR             cross encoder for re-ranking
      --shards S           number of shards (default 4);  --replication R  copies of each (default 1)
      --keys DIR           CURVE: server.key, authorized_workers and authorized_clients from `strata keys gen`
      --endpoint-file F    write the bound endpoint (useful with port 0) to F
      --settle S           wait S seconds after the first worker registers before placing shards (default 1),
                           so that workers started together share the indexing
      --max-top-k N        largest top_k a search may ask for (default \(ProtocolConstants.defaultMaxTopK)); past it INVALID_ARGUMENT
      --max-rerank N       largest re-rank depth (default \(ProtocolConstants.defaultMaxRerank)); past it INVALID_ARGUMENT
    """

    static func run(_ args: [String]) throws {
        let a = try Arguments(args, command: name, options: ["bind", "data-dir", "corpus", "model", "ce", "shards", "replication", "keys", "endpoint-file", "settle",
                                                            "jobs-root", "max-top-k", "max-rerank"],
                              flags: ["quiet"])
        var cfg = CoordinatorConfig()
        cfg.shardCount = try a.int("shards", default: 4, min: 1, max: 4096)!
        cfg.replication = try a.int("replication", default: 1, min: 1, max: 64)!
        cfg.deModel = try a.string("model").map { try resolveModelArgument($0, flag: "model") }
        cfg.ceModel = try a.string("ce").map { try resolveModelArgument($0, flag: "ce") }
        cfg.jobsRoot = try jobsRootOption(a)
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
        if let f = a.string("endpoint-file") { try (server.endpoint + "\n").write(toFile: f, atomically: true, encoding: .utf8) }
        note("coordinator: serving on \(server.endpoint) (\(corpus.count) documents in \(corpus.isEmpty ? 0 : cfg.shardCount) shards)")
        note(cfg.jobsRoot.map { "coordinator: jobs confined to \($0.path)" } ?? "coordinator: no --jobs-root: batch jobs are refused")
        try server.run(until: { stopSignal != 0 })
        note("coordinator: stopped")
    }
}

