import Foundation
import Cluster

/// `strata coordinator`: membership, shard map, scatter-gather search and batch jobs.
enum CoordinatorCommand: Subcommand {
    static let name = "coordinator"
    static let summary = "run the cluster coordinator (search serving and batch jobs)"
    static let usage = """
    usage: strata coordinator --bind tcp://*:PORT --data-dir DIR [--corpus FILE --model DIR [--ce DIR]
                              [--shards S] [--replication R] [--retrieval-layer K]] [--keys DIR] [--endpoint-file FILE] [--quiet]

      --bind ADDR          ZeroMQ endpoint to serve on (workers and clients connect here)
      --data-dir DIR       job journals live here; unfinished jobs resume on restart
      --corpus FILE        corpus to serve (.jsonl BEIR or a text per line), sharded over the workers
      --model DIR          dual encoder the workers embed the corpus and the queries with
      --ce DIR             cross encoder for re-ranking
      --retrieval-layer K  one CE for both stages: --model is a cross encoder whose layer-K self-pair
                           embeddings (mean-pooled, L2-normalised) index the corpus and the queries;
                           the same CE re-ranks (--ce defaults to --model), loaded once per worker
      --shards S           number of shards (default 4);  --replication R  copies of each (default 1)
      --keys DIR           CURVE: server.key and authorized_clients from `strata keys gen`
      --endpoint-file F    write the bound endpoint (useful with port 0) to F
      --settle S           wait S seconds after the first worker registers before placing shards (default 1),
                           so that workers started together share the indexing
    """

    static func run(_ args: [String]) throws {
        let a = try Arguments(args, command: name, options: ["bind", "data-dir", "corpus", "model", "ce", "shards", "replication", "keys", "endpoint-file", "settle", "retrieval-layer"],
                              flags: ["quiet"])
        var cfg = CoordinatorConfig()
        cfg.shardCount = try a.int("shards", default: 4, min: 1, max: 4096)!
        cfg.replication = try a.int("replication", default: 1, min: 1, max: 64)!
        cfg.deModel = a.string("model")
        cfg.ceModel = a.string("ce")
        cfg.retrievalLayer = try a.int("retrieval-layer", min: 0, max: 1024)
        if cfg.retrievalLayer != nil {
            guard cfg.deModel != nil else { throw CLIError("--retrieval-layer needs --model (the cross encoder)", usage: true) }
            if cfg.ceModel == nil { cfg.ceModel = cfg.deModel }
        }
        cfg.placementDelay = try a.double("settle", default: 1.0)!
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
        let server = try CoordinatorServer(bind: try a.required("bind"), dataDir: URL(fileURLWithPath: try a.required("data-dir")),
                                           config: cfg, corpus: corpus, keys: try curveKeys(a),
                                           log: { if !quiet { note("coordinator: " + $0) } })
        if let f = a.string("endpoint-file") { try (server.endpoint + "\n").write(toFile: f, atomically: true, encoding: .utf8) }
        note("coordinator: serving on \(server.endpoint) (\(corpus.count) documents in \(corpus.isEmpty ? 0 : cfg.shardCount) shards)")
        try server.run(until: { stopSignal != 0 })
        note("coordinator: stopped")
    }
}

