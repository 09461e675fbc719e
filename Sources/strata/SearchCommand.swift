import Foundation
import Formats
import Cluster
import Eval
import Model
import Wire
import CommandLineFlags

/// `strata search`: queries against a running cluster.
enum SearchCommand: Subcommand {
    static let spec = CommandSpec("search", summary: "search a running cluster (one query, or many into a TREC run file)", flags: [
        CommonFlags.coordinator(),
        .int("top", "K", default: 10, min: 1, max: 10_000, help: "hits to return"),
        .bool("rerank", help: "re-rank the first-stage candidates with the cluster's cross encoder"),
        .int("rerank-top", default: 0, min: 0, max: 10_000, help: "candidates to re-rank (0: max(K, 50))"),
        CommonFlags.keys,
        .double("timeout", "S", default: ProtocolConstants.searchDeadline, .aboveAtMost(0, maxCommandTimeout), help: "per-query deadline in seconds"),
        .path("input", "FILE", help: "queries: BEIR queries.jsonl ({\"_id\", \"text\"}) or one query a line (with --run)"),
        .path("run", "FILE", help: "write a 6-column TREC run file (qid Q0 docid rank score strata)"),
    ], positionals: [Positional("QUERY", required: false, variadic: true, help: "one query (quoted), unless --input is given")],
    details: "A result missing shards (no live replica) is printed with a warning and marked partial.")

    static func run(_ a: Arguments) throws {
        let k = a.int("top")!
        let rerankTop = a.int("rerank-top")!
        let timeout = a.double("timeout")!
        if a.string("input") == nil, a.positionals.count != 1 { throw CLIError("give one query (quoted), or --input FILE --run FILE", usage: true) }
        let client = try ClusterClient(endpoint: a.value("coordinator"), keys: try curveKeys(a))
        func ask(_ q: String) throws -> SearchReply {
            let req = SearchRequest(query: q, topK: k, rerank: a.flag("rerank"), rerankTop: rerankTop)
            guard case .searchReply(let r) = try client.call(.searchRequest(req), timeout: timeout + 2,
                                                              deadline: Date().timeIntervalSince1970 + timeout) else {
                throw CLIError("unexpected reply from the coordinator")
            }
            return r
        }
        if let input = a.string("input") {
            guard let runPath = a.string("run") else { throw CLIError("--input needs --run FILE", usage: true) }
            let queries = try TextRecords.read(input)
            var run: Run = [:]
            var order: [String] = []
            var partial = 0
            var latencies: [Double] = []
            for q in queries {
                let t = Date()
                let r = try ask(q.text)
                latencies.append(Date().timeIntervalSince(t) * 1000)
                if r.partial { partial += 1 }
                if run[q.id] == nil { order.append(q.id) }
                run[q.id, default: []] += r.hits.map { ($0.docID, $0.score) }
            }
            // Eval's writer: ranks as trec_eval ranks (score descending, ties by docid descending).
            try writeTrecRun(run, queryOrder: order, runName: "strata", to: URL(fileURLWithPath: runPath))
            latencies.sort()
            func pct(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(p * Double(latencies.count)))] }
            note(String(format: "search: %d queries -> %@ (p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%@)", queries.count, runPath,
                        pct(0.5), pct(0.9), pct(0.99), latencies.last ?? 0, partial > 0 ? ", \(partial) partial" : ""))
            return
        }
        guard let q = a.positionals.first, a.positionals.count == 1 else { throw CLIError("give one query (quoted), or --input FILE --run FILE", usage: true) }
        let t = Date()
        let r = try ask(q)
        let ms = Date().timeIntervalSince(t) * 1000
        if r.partial { note("warning: partial result (shards without a live replica: \(r.missingShards))") }
        for (i, h) in r.hits.enumerated() { print(String(format: "%3d  %9.4f  %@", i + 1, h.score, h.docID)) }
        note(String(format: "%.1f ms (embed %.1f, search %.1f, rerank %.1f, coordinator %.1f)", ms, r.embedMs, r.searchMs, r.rerankMs, r.totalMs))
    }
}
