import Foundation

/// A retrieval run: query id -> (document id, score) pairs, in any order (as trec_eval, the order
/// and any rank column are ignored; documents are ranked by score).
public typealias Run = [String: [(String, Float)]]

/// The measures Strata reports, each at a cutoff k, defined exactly as trec_eval 9 / pytrec_eval
/// compute them (relevance level 1: a judgement >= 1 is relevant; graded gains for nDCG).
public enum Measure: String, CaseIterable, Sendable {
    /// trec_eval `ndcg_cut.k`: gain = judged relevance, discount log2(rank + 1), ideal from all judgements.
    case ndcg = "nDCG"
    /// trec_eval `recip_rank` on the run cut at k (MRR@k).
    case mrr = "MRR"
    /// trec_eval `recall.k`: relevant retrieved in the top k / relevant judged.
    case recall = "Recall"
    /// trec_eval `map_cut.k`: sum of precision at each relevant rank <= k / relevant judged.
    case map = "MAP"
    /// trec_eval `success.k` (Hits@k): 1 when a relevant document is in the top k.
    case hits = "Hits"
    /// trec_eval `P.k`: relevant in the top k / k.
    case precision = "P"

    /// "nDCG@10" style name used in reports and JSON.
    public func name(_ k: Int) -> String { "\(rawValue)@\(k)" }
}

/// Per-query and mean values of every measure at every cutoff.
public struct Evaluation: Sendable {
    /// query id -> metric name ("nDCG@10") -> value; only queries present in both run and qrels.
    public var perQuery: [String: [String: Double]]
    /// metric name -> mean over `perQuery`'s queries (0 when there are none).
    public var mean: [String: Double]
    /// Metric names in report order (measure-major, then cutoff).
    public var names: [String]

    /// Number of evaluated queries.
    public var queryCount: Int { perQuery.count }
}

/// Ranks a query's run the way trec_eval does: score descending, then document id descending
/// (byte-wise, trec_eval's `strcmp`). trec_eval reads scores as doubles; a Float converts exactly.
public func trecOrder(_ docs: [(String, Float)]) -> [(String, Float)] {
    docs.sorted { a, b in
        if a.1 != b.1 { return a.1 > b.1 }
        return b.0.utf8.lexicographicallyPrecedes(a.0.utf8)
    }
}

/// Evaluates `run` against `qrels` at `cutoffs`, as pytrec_eval's RelevanceEvaluator does: a query
/// is evaluated when it appears in both (a judged query missing from the run is not counted; use
/// `missingQueries` to report them). Queries whose judgements are all non-relevant score 0.
public func evaluate(run: Run, qrels: Qrels, cutoffs: [Int] = [1, 3, 5, 10, 100],
                     measures: [Measure] = Measure.allCases) -> Evaluation {
    let cuts = Array(Set(cutoffs.filter { $0 > 0 })).sorted()
    var names: [String] = []
    for m in measures { for k in cuts { names.append(m.name(k)) } }
    var perQuery: [String: [String: Double]] = [:]
    for (qid, docs) in run {
        guard let judged = qrels[qid] else { continue }
        perQuery[qid] = evaluateQuery(ranked: trecOrder(docs).map(\.0), judged: judged, cutoffs: cuts, measures: measures)
    }
    var mean: [String: Double] = [:]
    for name in names {
        let total = perQuery.values.reduce(0.0) { $0 + ($1[name] ?? 0) }
        mean[name] = perQuery.isEmpty ? 0 : total / Double(perQuery.count)
    }
    return Evaluation(perQuery: perQuery, mean: mean, names: names)
}

/// Judged queries that have no entry in the run (sorted).
public func missingQueries(run: Run, qrels: Qrels) -> [String] {
    qrels.keys.filter { run[$0] == nil }.sorted()
}

/// One query's measures. `ranked`: document ids best first.
func evaluateQuery(ranked: [String], judged: [String: Int], cutoffs: [Int], measures: [Measure]) -> [String: Double] {
    let rels = ranked.map { judged[$0] ?? 0 }
    let numRel = judged.values.filter { $0 >= 1 }.count
    // Ideal gains: every judged relevance, highest first (trec_eval orders judged docs by level).
    let ideal = judged.values.map { max(0, $0) }.sorted(by: >)
    var out: [String: Double] = [:]
    for k in cutoffs {
        let top = rels.prefix(k)
        let relRet = top.filter { $0 >= 1 }.count
        for m in measures {
            let v: Double
            switch m {
            case .ndcg:
                var dcg = 0.0, idcg = 0.0
                for (i, r) in top.enumerated() where r > 0 { dcg += Double(r) / log2(Double(i + 2)) }
                for (i, r) in ideal.prefix(k).enumerated() where r > 0 { idcg += Double(r) / log2(Double(i + 2)) }
                v = idcg > 0 ? dcg / idcg : 0
            case .mrr:
                if let first = top.firstIndex(where: { $0 >= 1 }) { v = 1.0 / Double(first + 1) } else { v = 0 }
            case .recall:
                v = numRel > 0 ? Double(relRet) / Double(numRel) : 0
            case .map:
                var found = 0, sum = 0.0
                for (i, r) in top.enumerated() where r >= 1 { found += 1; sum += Double(found) / Double(i + 1) }
                v = numRel > 0 ? sum / Double(numRel) : 0
            case .hits:
                v = relRet > 0 ? 1 : 0
            case .precision:
                v = Double(relRet) / Double(k)
            }
            out[m.name(k)] = v
        }
    }
    return out
}
