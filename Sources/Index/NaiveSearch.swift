import Kernels

/// The slow, obviously correct twin of `FlatIndex.search`: every inner product with a plain loop,
/// then a full sort by (score descending, index ascending), cut at k. Used by tests and benchmarks.
///
/// - Parameters:
///   - corpus: [n, d] stored vectors.
///   - queries: [q, d] query vectors.
public func naiveSearch(corpus: Matrix, queries: Matrix, k: Int) -> [[SearchHit]] {
    precondition(corpus.cols == queries.cols, "naiveSearch: dimension mismatch")
    let d = corpus.cols
    var out: [[SearchHit]] = []
    out.reserveCapacity(queries.rows)
    for qi in 0..<queries.rows {
        var hits: [SearchHit] = []
        hits.reserveCapacity(corpus.rows)
        for i in 0..<corpus.rows {
            var s: Float = 0
            for p in 0..<d { s += queries.data[qi * d + p] * corpus.data[i * d + p] }
            hits.append(SearchHit(index: i, score: s))
        }
        hits.sort(by: SearchHit.ranksBefore)
        out.append(Array(hits.prefix(max(0, k))))
    }
    return out
}
