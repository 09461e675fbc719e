import Foundation
import Kernels
import XCTest

/// `addBiasRows`, `addInPlace` and `parallelRanges` against their obvious definitions.
final class RowKernelTests: XCTestCase {
    private var rng = SplitMix64(seed: 11)

    func testAddBiasRowsAndAddInPlaceMatchScalarLoopsAtEveryTailLength() {
        for cols in [1, 15, 16, 17, 31, 33, 384] {
            let rows = 3
            let x0 = (0..<(rows * cols)).map { _ in rng.uniform() - 0.5 }, b = (0..<cols).map { _ in rng.uniform() }
            var x = x0
            addBiasRows(&x, rows: rows, cols: cols, bias: b)
            for r in 0..<rows { for c in 0..<cols { XCTAssertEqual(x[r * cols + c], x0[r * cols + c] + b[c], "cols \(cols)") } }
            var y = x0
            addInPlace(&y, x, count: cols)          // only the first `cols` entries change
            for i in 0..<(rows * cols) { XCTAssertEqual(y[i], i < cols ? x0[i] + x[i] : x0[i], "addInPlace cols \(cols) at \(i)") }
        }
    }

    func testParallelRangesCoverEachIndexExactlyOnce() {
        for n in [0, 1, 2, 7, 64, 1000] {
            for workers in [1, 2, 3, 8] {
                for minPer in [1, 16, 64] {
                    let counts = UnsafeMutablePointer<Int>.allocate(capacity: max(n, 1))
                    counts.initialize(repeating: 0, count: max(n, 1))
                    defer { counts.deallocate() }
                    let lock = NSLock()
                    var chunks = 0
                    parallelRanges(n, minPerWorker: minPer, workers: workers) { r in
                        lock.lock(); chunks += 1; lock.unlock()
                        for i in r { counts[i] += 1 }   // ranges are disjoint, so no two threads touch one index
                    }
                    for i in 0..<n { XCTAssertEqual(counts[i], 1, "n \(n) workers \(workers) min \(minPer) index \(i)") }
                    XCTAssertLessThanOrEqual(chunks, max(1, min(workers, n / minPer)), "n \(n) workers \(workers) min \(minPer)")
                    if n == 0 { XCTAssertEqual(chunks, 0) }
                }
            }
        }
    }
}
