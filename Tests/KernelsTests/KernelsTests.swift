import Foundation
import Kernels
import XCTest

/// Each fast kernel against its naive twin (or libm) at a stated tolerance.
final class KernelsTests: XCTestCase {
    private var rng = SplitMix64(seed: 42)

    private func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 * scale - scale } }

    func testSgemmMatchesReferenceForAllTransposes() {
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            let m = 37, n = 29, k = 53
            let a = randoms(m * k), b = randoms(k * n), c0 = randoms(m * n)
            var c1 = c0, c2 = c0
            let lda = ta ? m : k, ldb = tb ? k : n
            sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb, beta: 0.3, c: &c1, ldc: n)
            sgemmReference(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.7, a: a, lda: lda, b: b, ldb: ldb, beta: 0.3, c: &c2, ldc: n)
            for i in 0..<(m * n) { XCTAssertEqual(c1[i], c2[i], accuracy: 1e-4, "transA \(ta) transB \(tb) at \(i)") }
        }
    }

    func testFastErfAndExpAgainstLibm() {
        var maxErf: Float = 0, maxExpRel: Float = 0
        var x: Float = -6
        while x < 6 {
            maxErf = max(maxErf, abs(fastErf(x) - Float(erf(Double(x)))))
            let ref = Float(exp(Double(x * 10)))
            maxExpRel = max(maxExpRel, abs(fastExp(x * 10) - ref) / ref)
            x += 0.0112
        }
        XCTAssertLessThan(maxErf, 1e-6)
        XCTAssertLessThan(maxExpRel, 1e-6)
    }

    func testGeluMatchesReference() {
        var a = randoms(1000, scale: 6), b = a
        geluInPlace(&a, count: a.count)
        geluReference(&b, count: b.count)
        for i in 0..<a.count { XCTAssertEqual(a[i], b[i], accuracy: 2e-6) }
    }

    func testSoftmaxMatchesReferenceAndLeavesPaddingColumns() {
        let rows = 5, cols = 37, ld = 40
        var a = randoms(rows * ld, scale: 20), b = a
        softmaxRows(&a, rows: rows, cols: cols, ld: ld, scale: 0.125)
        softmaxRowsReference(&b, rows: rows, cols: cols, ld: ld, scale: 0.125)
        for r in 0..<rows {
            for j in 0..<ld { XCTAssertEqual(a[r * ld + j], b[r * ld + j], accuracy: 1e-6) }
            XCTAssertEqual(a[(r * ld)..<(r * ld + cols)].reduce(0, +), 1, accuracy: 1e-5)
        }
    }

    func testLayerNormMatchesReference() {
        let rows = 7, cols = 45
        var a = randoms(rows * cols, scale: 3), b = a
        let g = randoms(cols), be = randoms(cols)
        layerNormRows(&a, rows: rows, cols: cols, gamma: g, beta: be, eps: 1e-12)
        layerNormRowsReference(&b, rows: rows, cols: cols, gamma: g, beta: be, eps: 1e-12)
        for i in 0..<a.count { XCTAssertEqual(a[i], b[i], accuracy: 2e-5) }
    }
}
