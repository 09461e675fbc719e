import Dispatch
import Kernels

/// Exact top-k search by inner product over vectors kept in memory (cosine when the vectors and the
/// queries are L2-normalised).
///
/// `search` multiplies a block of queries by a block of the corpus with one BLAS GEMM
/// (scores[qb, cb] = Q[qb, d] · Xᵀ[d, cb]) and feeds each query's row of scores to a bounded
/// min-heap of size k: no sort of the corpus, O(n log k) per query in the worst case and about
/// one comparison per document in the common case. Ties are broken deterministically: on equal
/// scores the lower row index ranks first. The result equals `naiveSearch` (up to float rounding of
/// the scores).
public final class FlatIndex {
    /// Vector length.
    public let dimension: Int
    /// The stored vectors, row-major [count, dimension].
    public private(set) var storage: [Float] = []

    /// Queries per GEMM block.
    public var queryBlock = 256
    /// Corpus rows per GEMM block (the score buffer is queryBlock x corpusBlock floats).
    public var corpusBlock = 4096
    /// Batches of fewer queries than this take the parallel SIMD scan instead of GEMM
    /// (a GEMM with a few rows is a memory-bound matrix-vector product). 0 disables it.
    public var smallBatchLimit = 8
    /// Threads for scanning scores into heaps and for the small-batch scan (the GEMM uses OpenBLAS's
    /// process-wide count, see `Parallelism`). Results do not depend on it.
    public var parallelism: Parallelism = .process

    /// An empty index for vectors of length `dimension`.
    public init(dimension: Int) {
        precondition(dimension > 0, "FlatIndex: dimension must be positive")
        self.dimension = dimension
    }

    /// Number of stored vectors.
    public var count: Int { storage.count / dimension }

    /// Appends the rows of `vectors` ([n, dimension]); they get the next row indices.
    public func add(_ vectors: Matrix) {
        precondition(vectors.cols == dimension,
                     "FlatIndex.add: vectors have \(vectors.cols) columns, the index has dimension \(dimension)")
        storage.append(contentsOf: vectors.data)
    }

    /// Row `i` of the index.
    public func vector(at i: Int) -> [Float] {
        Array(storage[(i * dimension)..<((i + 1) * dimension)])
    }

    /// The best `k` rows for each query row of `queries` ([q, dimension]), best first.
    /// Returns min(k, count) hits per query.
    public func search(_ queries: Matrix, k: Int) -> [[SearchHit]] {
        precondition(queries.cols == dimension,
                     "FlatIndex.search: queries have \(queries.cols) columns, the index has dimension \(dimension)")
        precondition(k >= 0, "FlatIndex.search: k must be >= 0")
        let n = count, q = queries.rows, d = dimension
        if q == 0 { return [] }
        let kk = min(k, n)
        if kk == 0 { return [[SearchHit]](repeating: [], count: q) }
        if q < smallBatchLimit {
            return queries.data.withUnsafeBufferPointer { searchSmallBatch($0, q: q, k: kk) }
        }
        var heaps = [TopKHeap](repeating: TopKHeap(k: kk), count: q)
        let qb = max(1, queryBlock), cb = max(1, corpusBlock)
        var scores = [Float](repeating: 0, count: min(qb, q) * min(cb, n))
        queries.data.withUnsafeBufferPointer { qp in
            storage.withUnsafeBufferPointer { xp in
                scores.withUnsafeMutableBufferPointer { sp in
                    heaps.withUnsafeMutableBufferPointer { hp in
                        var q0 = 0
                        while q0 < q {
                            let qn = min(qb, q - q0)
                            var c0 = 0
                            while c0 < n {
                                let cn = min(cb, n - c0)
                                // scores[qn, cn] = Q[q0..<q0+qn, d] · X[c0..<c0+cn, d]ᵀ
                                sgemm(transA: false, transB: true, m: qn, n: cn, k: d, alpha: 1,
                                      a: qp.baseAddress! + q0 * d, lda: d,
                                      b: xp.baseAddress! + c0 * d, ldb: d,
                                      beta: 0, c: sp.baseAddress!, ldc: cn)
                                Self.scan(scores: sp, rows: qn, cols: cn, firstIndex: c0, heaps: hp, firstHeap: q0,
                                          workers: parallelism.threads)
                                c0 += cn
                            }
                            q0 += qn
                        }
                    }
                }
            }
        }
        return heaps.map { $0.sorted() }
    }

    /// Feeds each row of a [rows, cols] score block to its query's heap; rows are split over
    /// `workers` threads (each row's heap is touched by one thread only).
    private static func scan(scores: UnsafeMutableBufferPointer<Float>, rows: Int, cols: Int, firstIndex: Int,
                             heaps: UnsafeMutableBufferPointer<TopKHeap>, firstHeap: Int, workers: Int) {
        let base = scores.baseAddress!
        let hbase = heaps.baseAddress!
        func scanRow(_ r: Int) {
            let row = base + r * cols
            let heap = hbase + firstHeap + r
            var t = heap.pointee.threshold
            for j in 0..<cols where row[j] > t {
                heap.pointee.offer(index: firstIndex + j, score: row[j])
                t = heap.pointee.threshold
            }
        }
        parallelRanges(rows, minPerWorker: 4, workers: workers) { part in
            for r in part { scanRow(r) }
        }
    }
}
