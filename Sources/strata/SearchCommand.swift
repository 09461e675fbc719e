import Foundation
import Formats
import Cluster
import Eval
import Model
import Wire

/// `strata search`: queries against a running cluster.
enum SearchCommand: Subcommand {
    static let name = "search"
    static let summary = "search a running cluster (one query, or many into a TREC run file)"
    static let usage = """
    usage: strata search --coordinator ADDR [--top K] [--rerank] [--rerank-top N] [--keys DIR] [--timeout S] "query"
           strata search --coordinator ADDR --input FILE --run FILE [--top K] [--rerank] ...

      --top K          hits to return (default 10)
      --rerank         re-rank the first-stage candidates with the cluster's cross encoder
      --rerank-top N   candidates to re-rank (default max(K, 50))
      --input FILE     queries: BEIR queries.jsonl ({"_id", "text"}) or one query a line
      --run FILE       write a 6-column TREC run file (qid Q0 docid rank score strata)
      --timeout S      per-query deadline in seconds (default 10)
    A result missing shards (no live replica) is printed with a warning and marked partial.
    """

    static func run(_ args: [String]) throws {
        let a = try Arguments(args, command: name, options: ["coordinator", "top", "rerank-top", "keys", "timeout", "input", "run"], flags: ["rerank"])
        let k = try a.int("top", default: 10, min: 1, max: 10_000)!
        let rerankTop = try a.int("rerank-top", default: 0, min: 0, max: 10_000)!
        let timeout = try a.seconds("timeout", default: ProtocolConstants.searchDeadline, allowZero: false)
        let client = try ClusterClient(endpoint: try a.required("coordinator"), keys: try curveKeys(a))
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
