/// How the coordinator spreads a query's re-rank over the CE workers: one request per worker,
/// contiguous parts of the candidate list with about equal text (the CE's cost grows with the
/// pair's tokens, and the coordinator has no tokenizer: UTF-8 bytes stand for tokens).
public enum RerankSplit {
    /// `parts` contiguous, non-empty ranges covering `lengths.indices` with about equal sums of
    /// `lengths` (each length counted at least 1). Fewer ranges when there are fewer items.
    public static func ranges(lengths: [Int], parts: Int) -> [Range<Int>] {
        let n = lengths.count
        let p = max(1, min(parts, n))
        guard n > 0 else { return [] }
        let weights = lengths.map { max(1, $0) }
        let total = weights.reduce(0, +)
        var bounds = [0], acc = 0
        for (i, w) in weights.enumerated() where bounds.count < p {
            acc += w
            // cut after item i once the running total reaches the next share, leaving an item
            // for each range still to come
            if acc * p >= total * bounds.count && i + 1 <= n - (p - bounds.count) { bounds.append(i + 1) }
        }
        while bounds.count < p { bounds.append(min(n, bounds.last! + 1)) }
        bounds.append(n)
        return zip(bounds, bounds.dropFirst()).map { $0..<$1 }.filter { !$0.isEmpty }
    }
}
