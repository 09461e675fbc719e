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
}
