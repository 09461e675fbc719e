import Foundation
import Formats

/// Writes a standard 6-column TREC run: `qid Q0 docid rank score run_name`, one line per hit,
/// queries in the given order, hits ranked as trec_eval will rank them (score descending, then
/// docid descending), so the rank column agrees with trec_eval and ranx. The file is written
/// durably and whole (`DurableFile`: `url.partial`, fsync, rename); a failure throws
/// `DataError.unwritable` naming the file and the OS's reason and leaves `url` as it was.
public func writeTrecRun(_ run: Run, queryOrder: [String]? = nil, runName: String = "strata", to url: URL) throws {
    try DurableFile.write(to: url.path) { try writeTrecRun(run, queryOrder: queryOrder, runName: runName, to: $0) }
}

/// Writes the TREC run (as `writeTrecRun(_:queryOrder:runName:to:)` with a URL) into `file`, a
/// query at a time; the caller commits `file` (or discards it) when it knows the run should stand.
public func writeTrecRun(_ run: Run, queryOrder: [String]? = nil, runName: String = "strata", to file: DurableFile) throws {
    let order = queryOrder ?? run.keys.sorted()
    for qid in order {
        guard let docs = run[qid] else { continue }
        var out = ""
        for (i, (did, score)) in trecOrder(docs).enumerated() {
            out += "\(qid) Q0 \(did) \(i + 1) \(formatScore(score)) \(runName)\n"
        }
        try file.write(Data(out.utf8))
    }
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

/// Writes evaluation results as JSON: {"queries": n, "metrics": {"nDCG@10": v, ...}, ...extra},
/// durably and whole (`DurableFile`; a failure throws `DataError.unwritable`).
public func writeMetricsJSON(_ ev: Evaluation, extra: [String: Any] = [:], to url: URL) throws {
    var obj = extra
    obj["queries"] = ev.queryCount
    var metrics: [String: Double] = [:]
    for n in ev.names { metrics[n] = ev.mean[n] }
    obj["metrics"] = metrics
    let data = try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
    try DurableFile.write(data, to: url.path)
}

/// The evaluation as a text table: a row per measure, a column per cutoff, e.g.
/// `nDCG     0.4321  0.5012 ...` under a header `@1  @3 ...`.
public func formatMetrics(_ ev: Evaluation) -> String {
    var measures: [String] = [], cutoffs: [Int] = []
    for name in ev.names {
        let parts = name.split(separator: "@")
        guard parts.count == 2, let k = Int(parts[1]) else { continue }
        if !measures.contains(String(parts[0])) { measures.append(String(parts[0])) }
        if !cutoffs.contains(k) { cutoffs.append(k) }
    }
    var s = "".padding(toLength: 8, withPad: " ", startingAt: 0)
        + cutoffs.map { "@\($0)".padding(toLength: 8, withPad: " ", startingAt: 0) }.joined()
    for m in measures {
        s += "\n" + m.padding(toLength: 8, withPad: " ", startingAt: 0)
        for k in cutoffs { s += String(format: "%-8.4f", ev.mean["\(m)@\(k)"] ?? .nan) }
    }
    return s
}
