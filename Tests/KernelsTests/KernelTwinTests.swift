import Foundation
import Kernels
import XCTest

// Naive twins written here, in the test target (plain loops, Double accumulation), for the row kernels the
// encoder runs: GELU, softmax, LayerNorm, the bias + GELU step of the feed-forward and the residual + LayerNorm
// step after each dense layer, `addBiasRows` and `parallelRanges`. Shapes include one row, one column, widths
// off the 16-lane vector (7, 15, 17, 383, 385, 1537) and large values. Each tolerance is stated next to its check.

/// 0.5 x (1 + erf(x / sqrt 2)) in Double.
private func geluTwin(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }

/// LayerNorm of one row in Double: (x - mean) / sqrt(var + eps) * gamma + beta, biased variance.
private func layerNormTwin(_ x: [Double], gamma: [Float], beta: [Float], eps: Float) -> [Double] {
    let n = Double(x.count)
    let mean = x.reduce(0, +) / n
    let v = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
    let inv = 1 / (v + Double(eps)).squareRoot()
    return x.indices.map { (x[$0] - mean) * inv * Double(gamma[$0]) + Double(beta[$0]) }
}

/// softmax(scale * x) of one row in Double.
private func softmaxTwin(_ x: ArraySlice<Float>, scale: Float) -> [Double] {
    let s = x.map { Double($0) * Double(scale) }
    let mx = s.max()!
    let e = s.map { exp($0 - mx) }
    let sum = e.reduce(0, +)
    return e.map { $0 / sum }
}

/// y[m, n] = x[m, k] · W[n, k]^T (+ b) in Double.
private func linearTwin(_ x: [Float], rows m: Int, weight w: [Float], bias: [Float]?, n: Int, k: Int) -> [Double] {
    var y = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var acc = 0.0
            for p in 0..<k { acc += Double(x[i * k + p]) * Double(w[j * k + p]) }
            y[i * n + j] = acc + (bias.map { Double($0[j]) } ?? 0)
        }
    }
    return y
}

final class KernelTwinTests: XCTestCase {
    private var rng = SplitMix64(seed: 2026)
    private func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 * scale - scale } }

    /// Widths: one element, tails of the 16-lane loops, BERT's hidden and intermediate sizes plus one.
    private let widths = [1, 7, 15, 16, 17, 31, 383, 385, 1537]

    override func tearDown() { ReducedPrecisionKernels.forcePortable(nil) }

    /// Runs `body` on the Swift loops and, where the CPU has AVX-512, on the C ports too.
    private func onEveryPath(_ body: (String) -> Void) {
        ReducedPrecisionKernels.forcePortable(true)
        body("portable")
        if ReducedPrecisionKernels.cpuHasInt8SIMD || ReducedPrecisionKernels.cpuHasBF16SIMD {
            ReducedPrecisionKernels.forcePortable(false)
            body("simd")
        }
        ReducedPrecisionKernels.forcePortable(nil)
    }

    /// geluInPlace against the Double twin: |error| <= 1e-6 max(1, |x|) (fastErf's 2e-7 times 0.5 |x|, plus
    /// float rounding), on every width, including huge inputs where erf saturates (gelu(x) = x or 0).
    func testGeluAgainstDoubleTwinOnEveryWidthIncludingLargeValues() {
        let specials: [Float] = [0, -0.0, 1e-30, -1e-30, 3.9, 4.1, -5.7, 5.7, 8, -8, 50, -50, 1e4, -1e4, 3e38, -3e38]
        onEveryPath { path in
            for n in widths {
                var x = randoms(n, scale: 6)
                for i in 0..<min(n, specials.count) { x[(i * 7) % n] = specials[i] }
                var y = x
                geluInPlace(&y, count: n)
                for i in 0..<n {
                    let want = geluTwin(Double(x[i]))
                    let tol = 1e-6 * max(1, abs(Double(x[i])))
                    XCTAssertLessThanOrEqual(abs(Double(y[i]) - want), tol, "\(path) n \(n) gelu(\(x[i])) = \(y[i]), twin \(want)")
                }
            }
        }
    }

    /// The feed-forward's bias + GELU step as the encoder runs it, against gelu(x · W^T + b) in Double:
    /// fp32 adds the bias row by row in the GELU pass (`addInPlace` then `geluInPlace`), int8 and bf16 add it in
    /// the GEMM epilogue (`addBias: true`) then `geluInPlace`. fp32: |error| <= 1e-5 (1 + |y|); int8 and bf16
    /// are compared with their own exact twins (`int8LinearReference` / `bf16LinearReference`) then GELU in
    /// Double, at the same tolerance, so only the fused step is under test.
    func testFusedBiasGeluAgainstTwin() {
        for (m, n, k) in [(1, 1, 1), (1, 17, 33), (3, 47, 385), (5, 1536, 384)] {
            let x = randoms(m * k), w = randoms(n * k, scale: 0.2), b = randoms(n, scale: 2)
            onEveryPath { path in
                for precision in Precision.allCases {
                    let layer = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: precision)
                    var y = [Float](repeating: .nan, count: m * n)
                    let fused = precision != .fp32
                    layer.apply(x, rows: m, out: &y, addBias: fused)
                    y.withUnsafeMutableBufferPointer { yp in
                        for r in 0..<m {
                            if !fused { addInPlace(yp.baseAddress! + r * n, b, count: n) }
                            geluInPlace(yp.baseAddress! + r * n, count: n)
                        }
                    }
                    let pre: [Double]
                    switch precision {
                    case .fp32: pre = linearTwin(x, rows: m, weight: w, bias: b, n: n, k: k)
                    case .int8: pre = int8LinearReference(x, rows: m, weight: w, bias: b, outFeatures: n, inFeatures: k).map(Double.init)
                    case .bf16: pre = bf16LinearReference(x, rows: m, weight: w, bias: b, outFeatures: n, inFeatures: k).map(Double.init)
                    }
                    var worst = 0.0
                    for i in 0..<(m * n) {
                        let want = geluTwin(pre[i])
                        let err = abs(Double(y[i]) - want) / (1 + abs(want))
                        worst = max(worst, err)
                    }
                    XCTAssertLessThanOrEqual(worst, 1e-5, "\(path) \(precision) [\(m), \(n), \(k)] bias+gelu worst relative error \(worst)")
                }
            }
        }
    }

    /// The residual + LayerNorm step (y <- LN(y + b + residual), row by row, as after each dense layer) against
    /// LN in Double of the exact sum. Ordinary inputs: |error| <= 2e-5 (1 + |out|). Rows with a mean of 1e3 and a
    /// spread of 1: the float sum itself rounds by ulp(1e3) ~ 6e-5 relative to the spread, so 4e-4 there.
    /// One column: the row equals its mean, so the output is exactly beta.
    func testResidualLayerNormAgainstTwin() {
        for rows in [1, 3, 65] {
            for cols in [1, 7, 17, 384, 385] {
                for offset: Float in [0, 1000] {
                    let y0 = randoms(rows * cols, scale: 3), bias = randoms(cols), g = randoms(cols, scale: 2), be = randoms(cols)
                    let res = randoms(rows * cols).map { $0 + offset }
                    var y = y0
                    y.withUnsafeMutableBufferPointer { yp in
                        for r in 0..<rows {
                            let row = yp.baseAddress! + r * cols
                            addInPlace(row, bias, count: cols)
                            res.withUnsafeBufferPointer { addInPlace(row, $0.baseAddress! + r * cols, count: cols) }
                            layerNormRows(row, rows: 1, cols: cols, gamma: g, beta: be, eps: 1e-12)
                        }
                    }
                    let tol = offset == 0 ? 2e-5 : 4e-4
                    for r in 0..<rows {
                        let sum = (0..<cols).map { Double(y0[r * cols + $0]) + Double(bias[$0]) + Double(res[r * cols + $0]) }
                        let want = layerNormTwin(sum, gamma: g, beta: be, eps: 1e-12)
                        for c in 0..<cols {
                            let got = Double(y[r * cols + c])
                            if cols == 1 { XCTAssertEqual(y[r * cols + c], be[c], "one column gives beta"); continue }
                            XCTAssertLessThanOrEqual(abs(got - want[c]), tol * (1 + abs(want[c])),
                                                     "rows \(rows) cols \(cols) offset \(offset) at (\(r), \(c)): \(got) vs \(want[c])")
                        }
                    }
                }
            }
        }
    }

    /// layerNormRows over many rows at once (the embeddings' LayerNorm) equals the row-by-row call bit for bit
    /// and the Double twin within 2e-5 (1 + |out|).
    func testLayerNormRowsManyRowsAgainstTwin() {
        for cols in widths where cols > 1 {
            let rows = 9
            let x = randoms(rows * cols, scale: 4), g = randoms(cols), be = randoms(cols)
            var all = x, one = x
            layerNormRows(&all, rows: rows, cols: cols, gamma: g, beta: be, eps: 1e-12)
            one.withUnsafeMutableBufferPointer { p in
                for r in 0..<rows { layerNormRows(p.baseAddress! + r * cols, rows: 1, cols: cols, gamma: g, beta: be, eps: 1e-12) }
            }
            XCTAssertEqual(all, one, "cols \(cols): rows are independent")
            for r in 0..<rows {
                let want = layerNormTwin((0..<cols).map { Double(x[r * cols + $0]) }, gamma: g, beta: be, eps: 1e-12)
                for c in 0..<cols {
                    XCTAssertLessThanOrEqual(abs(Double(all[r * cols + c]) - want[c]), 2e-5 * (1 + abs(want[c])), "cols \(cols) (\(r), \(c))")
                }
            }
        }
    }

    /// softmaxRows against the Double twin: |error| <= 1e-6 absolute (fastExp's 2e-7 relative on values <= 1,
    /// plus the float sum), rows of one column (exactly 1), odd widths, a strided buffer (entries past `cols`
    /// untouched) and large logits (|x| up to 1e4: one entry near 1, the rest underflow to ~0).
    func testSoftmaxAgainstDoubleTwinIncludingLargeLogits() {
        onEveryPath { path in
            for cols in widths + [128, 131] {
                for (scale, spread) in [(Float(0.125), Float(20)), (1, 1e4)] {
                    let rows = 3, ld = cols + 2
                    let x = randoms(rows * ld, scale: spread)
                    var y = x
                    softmaxRows(&y, rows: rows, cols: cols, ld: ld, scale: scale)
                    for r in 0..<rows {
                        let want = softmaxTwin(x[(r * ld)..<(r * ld + cols)], scale: scale)
                        for c in 0..<cols {
                            XCTAssertLessThanOrEqual(abs(Double(y[r * ld + c]) - want[c]), 1e-6,
                                                     "\(path) cols \(cols) spread \(spread) (\(r), \(c)): \(y[r * ld + c]) vs \(want[c])")
                        }
                        if cols == 1 { XCTAssertEqual(y[r * ld], 1, "\(path) a single logit has probability 1") }
                        for c in cols..<ld { XCTAssertEqual(y[r * ld + c], x[r * ld + c], "\(path) padding column untouched") }
                    }
                }
            }
        }
    }

    /// addBiasRows is one float add per element, so it equals the scalar loop bit for bit, also on one row and
    /// on values where rounding shows (1e8 + small).
    func testAddBiasRowsEqualsScalarTwinBitForBit() {
        for rows in [1, 2, 5] {
            for cols in widths {
                let x0 = randoms(rows * cols).map { $0 * 1e8 }, b = randoms(cols, scale: 3)
                var x = x0
                addBiasRows(&x, rows: rows, cols: cols, bias: b)
                var twin = x0
                for r in 0..<rows { for c in 0..<cols { twin[r * cols + c] = x0[r * cols + c] + b[c] } }
                XCTAssertEqual(x, twin, "rows \(rows) cols \(cols)")
            }
        }
    }

    /// parallelRanges hands out exactly the twin's partition: w = max(1, min(workers, n / minPerWorker)) ranges
    /// [n i / w, n (i + 1) / w), each once, none empty; n = 0 calls nothing; w = 1 runs inline on the caller.
    func testParallelRangesGivesTheTwinPartition() {
        func twin(_ n: Int, _ minPer: Int, _ workers: Int) -> [Range<Int>] {
            let w = max(1, min(workers, n / max(1, minPer)))
            return (0..<w).map { (n * $0 / w)..<(n * ($0 + 1) / w) }.filter { !$0.isEmpty }
        }
        for n in [0, 1, 2, 3, 15, 17, 100, 4097] {
            for workers in [1, 2, 3, 7, 16] {
                for minPer in [0, 1, 4, 16, 5000] {
                    let lock = NSLock()
                    var got: [Range<Int>] = []
                    var onCaller = true
                    let caller = Thread.current
                    parallelRanges(n, minPerWorker: minPer, workers: workers) { r in
                        lock.lock(); got.append(r); if Thread.current != caller { onCaller = false }; lock.unlock()
                    }
                    let want = twin(n, minPer, workers)
                    XCTAssertEqual(got.sorted { $0.lowerBound < $1.lowerBound }, want, "n \(n) workers \(workers) min \(minPer)")
                    if want.count <= 1 { XCTAssertTrue(onCaller, "n \(n) workers \(workers) min \(minPer): one range runs inline") }
                }
            }
        }
    }
}
