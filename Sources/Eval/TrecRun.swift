import Foundation

/// Writes a standard 6-column TREC run: `qid Q0 docid rank score run_name`, one line per hit,
/// queries in the given order, hits ranked as trec_eval will rank them (score descending, then
/// docid descending), so the rank column agrees with trec_eval and ranx.
public func writeTrecRun(_ run: Run, queryOrder: [String]? = nil, runName: String = "strata", to url: URL) throws {
    var out = ""
    let order = queryOrder ?? run.keys.sorted()
    for qid in order {
        guard let docs = run[qid] else { continue }
        for (i, (did, score)) in trecOrder(docs).enumerated() {
            out += "\(qid) Q0 \(did) \(i + 1) \(formatScore(score)) \(runName)\n"
        }
    }
    try Data(out.utf8).write(to: url)
}

/// Reads a 6-column TREC run (whitespace-separated); the rank column is ignored, as trec_eval does.
public func readTrecRun(_ url: URL) throws -> Run {
    var run: Run = [:]
    try forEachLine(of: url) { line, n in
        let cols = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard cols.count == 6, let score = Float(cols[4]) else {
            throw DataError(file: url.path, line: n, "expected 'qid Q0 docid rank score run_name'")
        }
        run[String(cols[0]), default: []].append((String(cols[2]), score))
    }
    return run
}

/// A Float printed so that parsing it back gives the same Float (shortest round-trip form).
func formatScore(_ x: Float) -> String { "\(x)" }

/// Writes evaluation results as JSON: {"queries": n, "metrics": {"nDCG@10": v, ...}, ...extra}.
public func writeMetricsJSON(_ ev: Evaluation, extra: [String: Any] = [:], to url: URL) throws {
    var obj = extra
    obj["queries"] = ev.queryCount
    var metrics: [String: Double] = [:]
    for n in ev.names { metrics[n] = ev.mean[n] }
    obj["metrics"] = metrics
    let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
    try data.write(to: url)
}

/// The evaluation as aligned text lines, e.g. "nDCG@10   0.6452" (report order).
public func formatMetrics(_ ev: Evaluation) -> String {
    ev.names.map { $0.padding(toLength: 12, withPad: " ", startingAt: 0) + String(format: "%.4f", ev.mean[$0] ?? 0) }
        .joined(separator: "\n")
}
