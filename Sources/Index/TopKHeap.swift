/// A bounded min-heap keeping the best `k` hits seen so far, in `SearchHit.ranksBefore` order.
///
/// The root is the worst kept hit, so a candidate is rejected with one comparison in the common
/// case. With `offer`, candidates must come in increasing index order (as the scan over the corpus
/// does); then a candidate whose score equals the root's ranks after it and is rejected, which keeps
/// the lower index on ties without comparing indices on the hot path.
public struct TopKHeap {
    public let k: Int
    @usableFromInline var heap: [SearchHit] = []

    public init(k: Int) {
        precondition(k >= 0, "TopKHeap: k must be >= 0")
        self.k = k
        heap.reserveCapacity(k)
    }

    /// The score a new candidate must beat to enter (−infinity while the heap is not full).
    @inlinable
    public var threshold: Float { heap.count < k ? -Float.infinity : heap[0].score }

    /// Number of hits kept.
    public var count: Int { heap.count }

    /// Offers a candidate; indices must increase between calls. NaN scores are never kept.
    @inlinable
    public mutating func offer(index: Int, score: Float) {
        if heap.count < k {
            if score.isNaN { return }
            heap.append(SearchHit(index: index, score: score))
            siftUp(heap.count - 1)
        } else if k > 0, score > heap[0].score {
            heap[0] = SearchHit(index: index, score: score)
            siftDown(0)
        }
    }

    /// Offers a candidate in any index order (used when merging partial results).
    public mutating func offerUnordered(_ hit: SearchHit) {
        if hit.score.isNaN { return }
        if heap.count < k {
            heap.append(hit)
            siftUp(heap.count - 1)
        } else if k > 0, SearchHit.ranksBefore(hit, heap[0]) {
            heap[0] = hit
            siftDown(0)
        }
    }

    /// The kept hits, best first.
    public func sorted() -> [SearchHit] { heap.sorted(by: SearchHit.ranksBefore) }

    /// True when `a` is worse than `b` (belongs nearer the root).
    @inlinable
    static func worse(_ a: SearchHit, _ b: SearchHit) -> Bool { SearchHit.ranksBefore(b, a) }

    @inlinable
    mutating func siftUp(_ start: Int) {
        var i = start
        while i > 0 {
            let parent = (i - 1) / 2
            if Self.worse(heap[i], heap[parent]) { heap.swapAt(i, parent); i = parent } else { return }
        }
    }

    @inlinable
    mutating func siftDown(_ start: Int) {
        var i = start
        let n = heap.count
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < n, Self.worse(heap[l], heap[m]) { m = l }
            if r < n, Self.worse(heap[r], heap[m]) { m = r }
            if m == i { return }
            heap.swapAt(i, m)
            i = m
        }
    }
}

/// The one top-k merge of Strata: per-shard (or per-thread, or per-batch) ranked lists into one,
/// in `SearchHit.ranksBefore` order (score descending, then index ascending), NaN scores
/// dropped (as `TopKHeap` never keeps them).
public enum TopK {
    /// Merges ranked lists into their global top `k`. Exact when each list holds its part's own
    /// top-k under the same order and the parts are disjoint (the coordinator's shards, a batch
    /// of rows split between threads).
    public static func merge(_ lists: [[SearchHit]], k: Int) -> [SearchHit] {
        var heap = TopKHeap(k: max(0, k))
        for list in lists { for h in list { heap.offerUnordered(h) } }
        return heap.sorted()
    }
}
