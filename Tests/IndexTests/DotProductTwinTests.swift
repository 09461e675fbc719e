import Foundation
import Index
import Kernels
import XCTest

/// `dotProduct` (internal to Index: two 8-wide SIMD accumulators and a scalar tail) through its public caller,
/// FlatIndex's small-batch path (fewer queries than `smallBatchLimit`), whose hit scores are exactly its
/// results. Twin: the sum of a[i] b[i] in Double. Tolerance: the float summation bound
/// |error| <= 2 d u sum |a[i] b[i]| (u = 2^-24), i.e. proportional to the magnitudes summed, which also covers
/// large values (1e3 per entry) and cancelling sums.
final class DotProductTwinTests: XCTestCase {
    private var rng = SplitMix64(seed: 99)
    private func randoms(_ n: Int, scale: Float) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 * scale - scale } }

    func testSmallBatchScoresMatchDoubleTwinOnOddDimensions() {
        // d: one element, tails of the 16-float unrolled loop, MiniLM's 384 and one more
        for d in [1, 7, 15, 16, 17, 33, 384, 385] {
            for scale: Float in [1, 1000] {
                let n = 4500                         // > 2048: several chunks scanned in parallel, then merged
                let corpus = randoms(n * d, scale: scale)
                let index = FlatIndex(dimension: d)
                index.add(Matrix(rows: n, cols: d, data: corpus))
                let q = 3, k = 25
                XCTAssertLessThan(q, index.smallBatchLimit, "the test must take the small-batch path")
                let queries = randoms(q * d, scale: scale)
                let hits = index.search(Matrix(rows: q, cols: d, data: queries), k: k)
                XCTAssertEqual(hits.count, q)
                for j in 0..<q {
                    var twin = [Double](repeating: 0, count: n), bound = [Double](repeating: 0, count: n)
                    for i in 0..<n {
                        var s = 0.0, m = 0.0
                        for p in 0..<d {
                            let t = Double(queries[j * d + p]) * Double(corpus[i * d + p])
                            s += t; m += abs(t)
                        }
                        twin[i] = s; bound[i] = 2 * Double(d) * 0x1p-24 * m + 1e-30
                    }
                    XCTAssertEqual(hits[j].count, k)
                    for h in hits[j] {
                        XCTAssertLessThanOrEqual(abs(Double(h.score) - twin[h.index]), bound[h.index],
                                                 "d \(d) scale \(scale) query \(j) row \(h.index): \(h.score) vs \(twin[h.index])")
                    }
                    // The hits are the twin's top k: a row left out has a float score at most the lowest hit's, so
                    // its twin minus its bound cannot exceed the lowest hit's twin plus that hit's bound.
                    let chosen = Set(hits[j].map(\.index))
                    let lowest = hits[j].map { twin[$0.index] + bound[$0.index] }.min()!
                    for i in 0..<n where !chosen.contains(i) {
                        XCTAssertLessThanOrEqual(twin[i] - bound[i], lowest, "d \(d) query \(j): row \(i) (twin \(twin[i])) missed")
                    }
                    for (a, b) in zip(hits[j], hits[j].dropFirst()) {
                        XCTAssertGreaterThanOrEqual(a.score, b.score, "best first")
                    }
                }
            }
        }
    }
}
