import Dispatch

extension FlatIndex {
    /// The path for a handful of queries, where a GEMM degenerates into a memory-bound
    /// matrix-vector product: the corpus is split into `parallelism.threads` chunks scanned in parallel, each corpus row
    /// read once for all queries (SIMD dot products), each chunk with its own heaps, merged at the
    /// end with the same deterministic tie rule.
    ///
    /// - Parameters:
    ///   - queries: [q, d] row-major, q small (< `smallBatchLimit`).
    func searchSmallBatch(_ queries: UnsafeBufferPointer<Float>, q: Int, k: Int) -> [[SearchHit]] {
        let n = count, d = dimension
        let chunks = min(max(1, n / 2048), parallelism.threads)   // one contiguous chunk per thread
        var partial = [[TopKHeap]](repeating: [], count: chunks)
        storage.withUnsafeBufferPointer { xp in
            partial.withUnsafeMutableBufferPointer { pp in
                let pbase = pp.baseAddress!
                let xbase = xp.baseAddress!, qbase = queries.baseAddress!
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    let start = c * n / chunks, end = (c + 1) * n / chunks
                    var heaps = [TopKHeap](repeating: TopKHeap(k: k), count: q)
                    var thresholds = [Float](repeating: -.infinity, count: q)
                    for i in start..<end {
                        let row = xbase + i * d
                        for j in 0..<q {
                            let s = dotProduct(qbase + j * d, row, d)
                            if s > thresholds[j] {
                                heaps[j].offer(index: i, score: s)
                                thresholds[j] = heaps[j].threshold
                            }
                        }
                    }
                    (pbase + c).initialize(to: heaps)
                }
            }
        }
        var out: [[SearchHit]] = []
        for j in 0..<q {
            var merged = TopKHeap(k: k)
            for c in 0..<chunks { for h in partial[c][j].sorted() { merged.offerUnordered(h) } }
            out.append(merged.sorted())
        }
        return out
    }
}

/// Σ a[i]·b[i] over d floats with two 8-wide SIMD accumulators.
@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ d: Int) -> Float {
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    var acc0 = SIMD8<Float>(), acc1 = SIMD8<Float>()
    var i = 0
    while i + 16 <= d {
        acc0 += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        acc1 += ra.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: (i + 8) * 4, as: SIMD8<Float>.self)
        i += 16
    }
    var s = (acc0 + acc1).sum()
    while i < d { s += a[i] * b[i]; i += 1 }
    return s
}
