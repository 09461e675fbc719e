import Foundation
import Kernels
import Index

/// Dense retrieval and re-ranking over a BEIR dataset, with the model calls passed in as closures
/// so that this module does not depend on how an encoder is configured.
public enum Retrieval {
    /// Exact top-k by inner product (cosine for normalised vectors) with `FlatIndex`.
    /// Each query's list is best first (score descending, lower corpus row first on ties).
    ///
    /// - Parameters:
    ///   - queryVectors: [queryIds.count, d]
    ///   - docVectors: [docIds.count, d]
    public static func search(queryIds: [String], queryVectors: Matrix, docIds: [String], docVectors: Matrix,
                              k: Int) -> Run {
        precondition(queryVectors.rows == queryIds.count && docVectors.rows == docIds.count)
        let index = FlatIndex(dimension: docVectors.cols)
        index.add(docVectors)
        let hits = index.search(queryVectors, k: k)
        var run: Run = [:]
        for (qi, qid) in queryIds.enumerated() { run[qid] = hits[qi].map { (docIds[$0.index], $0.score) } }
        return run
    }

    /// Re-scores the first `top` documents of each query's list (as listed: `search` lists best
    /// first) with `score`, called on batches of at most `batch` (query, passage) pairs, and orders
    /// them by the new scores. The documents after the first `top` follow in their first-stage order,
    /// with synthetic scores below the re-ranked block (lowest re-ranked score − 1, − 2, ...), so a
    /// metric at a cutoff beyond `top` still sees the whole list.
    public static func rerank(run: Run, queries: [String: String], documents: [String: String], top: Int, batch: Int = 64,
                              score: ([(String, String)]) throws -> [Float]) throws -> Run {
        var pairs: [(qid: String, did: String)] = []
        for qid in run.keys.sorted() { for (did, _) in run[qid]!.prefix(top) { pairs.append((qid, did)) } }
        var scores: [Float] = []
        scores.reserveCapacity(pairs.count)
        var start = 0
        while start < pairs.count {
            let chunk = pairs[start..<min(start + max(1, batch), pairs.count)]
            let got = try score(chunk.map { (queries[$0.qid] ?? "", documents[$0.did] ?? "") })
            precondition(got.count == chunk.count, "rerank: scorer returned \(got.count) scores for \(chunk.count) pairs")
            scores += got
            start += chunk.count
        }
        var out: Run = [:]
        for (p, s) in zip(pairs, scores) { out[p.qid, default: []].append((p.did, s)) }
        for qid in out.keys { out[qid]!.sort { $0.1 > $1.1 } }
        for (qid, docs) in run where docs.count > top {
            var floor = out[qid]?.last?.1 ?? 0
            for (did, _) in docs.dropFirst(top) {
                floor = floor.nextDown - 1
                out[qid, default: []].append((did, floor))
            }
        }
        return out
    }
}

extension BEIRDataset {
    /// A smaller corpus for quick sweeps: every document judged for the kept queries, then the
    /// others in file order until `maxCorpus` documents (judged ones are always kept, so the result
    /// may be larger). `maxQueries` keeps the first queries in file order. Deterministic.
    public func subsampled(maxCorpus: Int?, maxQueries: Int? = nil) -> BEIRDataset {
        var ds = self
        if let maxQueries, queries.count > maxQueries {
            ds.queries = Array(queries.prefix(maxQueries))
            let keep = Set(ds.queries.map(\.id))
            ds.qrels = qrels.filter { keep.contains($0.key) }
        }
        if let maxCorpus, corpus.count > maxCorpus {
            var judged = Set<String>()
            for q in ds.queries { for (did, _) in ds.qrels[q.id] ?? [:] { judged.insert(did) } }
            var room = max(0, maxCorpus - corpus.filter { judged.contains($0.id) }.count)
            ds.corpus = corpus.filter { doc in
                if judged.contains(doc.id) { return true }
                if room > 0 { room -= 1; return true }
                return false
            }
        }
        return ds
    }
}
