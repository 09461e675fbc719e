import Dispatch
import Foundation

/// Splits 0..<n into contiguous ranges and runs `body` on them concurrently, one per worker
/// (`workers` defaults to the process `Parallelism`). Small inputs run inline on the caller.
public func parallelRanges(_ n: Int, minPerWorker: Int = 1, workers: Int = Parallelism.process.threads,
                           _ body: (Range<Int>) -> Void) {
    let w = Swift.max(1, Swift.min(workers, n / Swift.max(1, minPerWorker)))
    if w <= 1 { if n > 0 { body(0..<n) }; return }
    DispatchQueue.concurrentPerform(iterations: w) { i in
        let lo = n * i / w, hi = n * (i + 1) / w
        if lo < hi { body(lo..<hi) }
    }
}
