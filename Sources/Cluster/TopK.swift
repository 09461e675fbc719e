import Wire

/// Exact top-k merging with a total order: score descending, then global document index ascending.
public enum TopK {
    /// The order every ranked list in the cluster uses.
    @inlinable
    public static func before(_ a: Hit, _ b: Hit) -> Bool {
        a.score != b.score ? a.score > b.score : a.docIndex < b.docIndex
    }

    /// Merges per-shard top-k lists into the global top-k. Exact when each list holds its
    /// shard's own top-k under the same order (shards are disjoint).
    public static func merge(_ lists: [[Hit]], k: Int) -> [Hit] {
        var all = lists.flatMap { $0 }
        all.sort(by: before)
        return Array(all.prefix(max(0, k)))
    }

    /// Exact inner-product top-k of `query` over `count` rows of `rows` (row-major [count, dim]).
    /// Row r is reported as document `firstIndex + r` with id `ids[r]`.
    public static func search(query: [Float], rows: UnsafeBufferPointer<Float>, count: Int, dimension: Int,
                              firstIndex: Int, ids: [String], k: Int) -> [Hit] {
        precondition(query.count == dimension && rows.count >= count * dimension && ids.count >= count)
        guard k > 0, count > 0 else { return [] }
        var best: [(score: Float, row: Int)] = []
        best.reserveCapacity(k + 1)
        func worse(_ a: (score: Float, row: Int), _ b: (score: Float, row: Int)) -> Bool {
            a.score != b.score ? a.score < b.score : a.row > b.row
        }
        query.withUnsafeBufferPointer { q in
            for r in 0..<count {
                var s: Float = 0
                let base = r * dimension
                for j in 0..<dimension { s += q[j] * rows[base + j] }
                let cand = (score: s, row: r)
                if best.count < k {
                    best.append(cand)
                    if best.count == k { best.sort(by: worse) }
                } else if worse(best[0], cand) {
                    // replace the worst and restore the ascending-by-quality order (k is small)
                    best[0] = cand
                    var i = 0
                    while i + 1 < best.count, worse(best[i + 1], best[i]) { best.swapAt(i, i + 1); i += 1 }
                }
            }
        }
        return best.sorted { worse($1, $0) }.map { Hit(docIndex: firstIndex + $0.row, docID: ids[$0.row], score: $0.score) }
    }
}
