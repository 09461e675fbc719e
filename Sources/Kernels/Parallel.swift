import Dispatch
import Foundation

/// Splits 0..<n into contiguous ranges and runs `body` on them concurrently, one per worker
/// (`workers` defaults to the BLAS thread count). Small inputs run inline on the caller.
public func parallelRanges(_ n: Int, minPerWorker: Int = 1, workers: Int = BLASThreads.count,
                           _ body: (Range<Int>) -> Void) {
    let w = Swift.max(1, Swift.min(workers, n / Swift.max(1, minPerWorker)))
    if w <= 1 { if n > 0 { body(0..<n) }; return }
    DispatchQueue.concurrentPerform(iterations: w) { i in
        let lo = n * i / w, hi = n * (i + 1) / w
        if lo < hi { body(lo..<hi) }
    }
}

extension BLASThreads {
    /// Runs `body` with OpenBLAS single-threaded, so several of our own threads can each make
    /// small BLAS calls (e.g. per-sequence attention) without oversubscribing the cores.
    public static func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        let before = count
        if before == 1 { return try body() }
        count = 1
        defer { count = before }
        return try body()
    }
}
