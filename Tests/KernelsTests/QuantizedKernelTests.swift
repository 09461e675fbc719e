import Foundation
import Kernels
import XCTest

/// The int8 and bf16 kernels (CStrataKernels through `PackedLinear`) against their naive Swift twins,
/// bit for bit, on edge shapes (odd K, M and N off the 8 x 32 tile), on the SIMD path where the CPU
/// has it and on the portable C path.
final class QuantizedKernelTests: XCTestCase {
    private var rng = SplitMix64(seed: 7)
    private func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 * scale - scale } }

    /// (rows, out, in): single elements, K not a multiple of 4 or 2, M and N not multiples of the tile.
    private let shapes = [(1, 1, 1), (3, 5, 7), (8, 32, 4), (9, 33, 13), (17, 47, 385), (70, 100, 96), (65, 16, 31)]

    override func tearDown() { ReducedPrecisionKernels.forcePortable(nil) }

    /// Runs `body` on the portable path and, where the CPU has them, on the SIMD kernels.
    private func onEveryPath(_ body: (String) throws -> Void) rethrows {
        ReducedPrecisionKernels.forcePortable(true)
        try body("portable")
        ReducedPrecisionKernels.forcePortable(false)
        if ReducedPrecisionKernels.cpuHasInt8SIMD || ReducedPrecisionKernels.cpuHasBF16SIMD { try body("simd") }
        ReducedPrecisionKernels.forcePortable(nil)
    }

    func testInt8GemmS32EqualsNaiveIntegerSumIncludingExtremes() {
        onEveryPath { path in
            for (m, n, k) in shapes + [(8, 64, 1536)] {
                var xq = (0..<(m * k)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                var q = (0..<(n * k)).map { _ in Int8(Int(rng.next() % 255) - 127) }
                // Saturation probes: the largest u8 (q = +127 after the offset) against +-127 weights in
                // the first row / column, and the smallest u8 (q = -128) in the second.
                for p in 0..<k { xq[p] = 255; q[p] = 127; if m > 1 { xq[k + p] = 0 }; if n > 1 { q[k + p] = -127 } }
                let got = Int8KernelParts.gemmS32(xq: xq, m: m, k: k, q: q, n: n)
                for i in 0..<m {
                    for j in 0..<n {
                        var acc: Int32 = 0
                        for p in 0..<k { acc += (Int32(xq[i * k + p]) - 128) * Int32(q[j * k + p]) }
                        if got[i * n + j] != acc {
                            XCTFail("\(path) [\(m), \(n), \(k)] at (\(i), \(j)): \(got[i * n + j]) != \(acc)"); return
                        }
                    }
                }
            }
        }
    }

    func testInt8QuantizersMatchReferenceAndRoundTrip() {
        onEveryPath { path in
            // cols: under 16; 64-value steps only; 64-value steps, 16-value steps and a tail (100 = 64 + 2 x 16 + 4)
            for (rows, cols) in [(1, 1), (5, 7), (3, 384), (2, 1537), (4, 100), (2, 1000)] {
                var x = randoms(rows * cols, scale: 3)
                if rows > 1 { for c in 0..<cols { x[cols + c] = 0 } }          // an all-zero row: scale 0
                let ref = quantizeRowsInt8Reference(x, rows: rows, cols: cols)
                let act = Int8KernelParts.quantizeRows(x, rows: rows, cols: cols)
                XCTAssertEqual(act.scales, ref.scales, "\(path) activation scales")
                XCTAssertEqual(act.u8.map { Int($0) - 128 }, ref.q.map { Int($0) }, "\(path) activations \(rows)x\(cols)")
                let w = Int8KernelParts.quantizeWeights(x, outFeatures: rows, inFeatures: cols)
                XCTAssertEqual(w.q, ref.q, "\(path) weights")
                XCTAssertEqual(w.scales, ref.scales)
                for r in 0..<rows {
                    XCTAssertEqual(w.columnSums[r], w.q[(r * cols)..<((r + 1) * cols)].reduce(Int32(0)) { $0 + Int32($1) })
                    // Round trip: each weight within half a quantization step of its int8 image.
                    for c in 0..<cols {
                        let back = Float(w.q[r * cols + c]) * w.scales[r]
                        XCTAssertLessThanOrEqual(abs(back - x[r * cols + c]), w.scales[r] * 0.5001 + 1e-7, "\(path) (\(r), \(c))")
                    }
                    XCTAssertEqual(w.q[(r * cols)..<((r + 1) * cols)].map { abs(Int($0)) }.max(), rows > 1 && r == 1 ? 0 : 127)
                }
            }
        }
    }

    func testInt8LinearEqualsTwinBitForBit() {
        onEveryPath { path in
            for (m, n, k) in shapes {
                let x = randoms(m * k, scale: 2), w = randoms(n * k, scale: 0.5), b = randoms(n)
                for withBias in [true, false] {
                    let layer = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .int8)
                    for workers in [1, 2] {
                        var y = [Float](repeating: .nan, count: m * n)
                        layer.apply(x, rows: m, out: &y, addBias: withBias, workers: workers)
                        let ref = int8LinearReference(x, rows: m, weight: w, bias: withBias ? b : nil, outFeatures: n, inFeatures: k)
                        XCTAssertEqual(y, ref, "\(path) int8 [\(m), \(n), \(k)] bias \(withBias) workers \(workers)")
                    }
                }
            }
        }
    }

    func testBF16ConversionMatchesReferenceOnAllKindsOfFloats() {
        var values: [Float] = [0, -0.0, 1, -1, 1.00390625, 1.01171875, .infinity, -.infinity, .nan,
                               Float.leastNonzeroMagnitude, -Float.leastNormalMagnitude / 2, Float.greatestFiniteMagnitude]
        values += (0..<5000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
        onEveryPath { path in
            let got = BF16KernelParts.convert(values)
            for (i, v) in values.enumerated() {
                XCTAssertEqual(got[i], bf16BitsReference(v), "\(path) bf16 of \(v) (bits \(String(v.bitPattern, radix: 16)))")
            }
        }
        XCTAssertEqual(bf16BitsReference(1.00390625), 0x3F80, "a tie rounds to even (down)")
        XCTAssertEqual(bf16BitsReference(1.01171875), 0x3F82, "a tie rounds to even (up)")
        XCTAssertEqual(bf16BitsReference(-Float.leastNormalMagnitude / 2), 0x8000, "a denormal becomes a signed zero")
    }

    func testBF16LinearEqualsTwinBitForBit() {
        onEveryPath { path in
            for (m, n, k) in shapes {
                let x = randoms(m * k, scale: 2), w = randoms(n * k, scale: 0.5), b = randoms(n)
                let layer = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .bf16)
                for workers in [1, 2] {
                    var y = [Float](repeating: .nan, count: m * n)
                    layer.apply(x, rows: m, out: &y, workers: workers)
                    let ref = bf16LinearReference(x, rows: m, weight: w, bias: b, outFeatures: n, inFeatures: k)
                    XCTAssertEqual(y, ref, "\(path) bf16 [\(m), \(n), \(k)] workers \(workers)")
                }
            }
        }
    }

    /// Inputs over the whole exponent range (products below fp32's normal range, overflowing products): the
    /// twin models vdpbf16ps as fused multiply-adds with flushed sums (a flushed-product model failed here on
    /// the SIMD path: tiny products still move the sum on the hardware).
    func testBF16LinearEqualsTwinBitForBitOverTheExponentRange() {
        func wide(_ n: Int, _ lo: Int, _ hi: Int) -> [Float] {
            (0..<n).map { _ in (rng.uniform() * 2 - 1) * Float(sign: .plus, exponent: lo + Int(rng.uniform() * Float(hi - lo)), significand: 1) }
        }
        onEveryPath { path in
            // exponents over all of fp32's normal range (overflowing products), and around 2^-60 (products and
            // sums near and below FLT_MIN = 2^-126)
            for ((m, n, k), (lo, hi)) in [((9, 33, 13), (-125, 125)), ((17, 47, 385), (-125, 125)), ((17, 47, 385), (-80, -45))] {
                let x = wide(m * k, lo, hi), w = wide(n * k, lo, hi), b = [Float](repeating: 0, count: n)
                let layer = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .bf16)
                var y = [Float](repeating: .nan, count: m * n)
                layer.apply(x, rows: m, out: &y, workers: 1)
                let ref = bf16LinearReference(x, rows: m, weight: w, bias: b, outFeatures: n, inFeatures: k)
                for i in 0..<y.count where y[i].bitPattern != ref[i].bitPattern && !(y[i].isNaN && ref[i].isNaN) {
                    XCTFail("\(path) bf16 [\(m), \(n), \(k)] exponents \(lo)...\(hi) element \(i): \(y[i]) != twin \(ref[i])"); break
                }
            }
        }
    }

    /// Every row count of a partial tile (M 1...17), the 64-row block boundary (63, 64, 65, 129: the
    /// activations are quantized / converted one block at a time), N off the 32-column tile, odd K.
    func testLinearsEqualTwinsOnEveryRowCountAndAcrossRowBlocks() {
        onEveryPath { path in
            for (m, n, k) in (1...17).map({ ($0, 47, 19) }) + [(63, 33, 385), (64, 32, 384), (65, 17, 1537), (129, 40, 97)] {
                for precision in [Precision.int8, .bf16] { assertLinearEqualsTwin(path, precision, m, n, k) }
            }
        }
    }

    /// A random [m, k] x [n, k]^T + bias layer in `precision` (int8 or bf16) gives its twin's bits.
    private func assertLinearEqualsTwin(_ path: String, _ precision: Precision, _ m: Int, _ n: Int, _ k: Int,
                                        file: StaticString = #filePath, line: UInt = #line) {
        let x = randoms(m * k, scale: 2), w = randoms(n * k, scale: 0.5), b = randoms(n)
        let layer = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: precision)
        var y = [Float](repeating: .nan, count: m * n)
        layer.apply(x, rows: m, out: &y, workers: 1)
        let ref = precision == .int8
            ? int8LinearReference(x, rows: m, weight: w, bias: b, outFeatures: n, inFeatures: k)
            : bf16LinearReference(x, rows: m, weight: w, bias: b, outFeatures: n, inFeatures: k)
        XCTAssertEqual(y, ref, "\(path) \(precision) [\(m), \(n), \(k)]", file: file, line: line)
    }

    /// K large enough that 64 rows of scratch exceed the per-thread cache's cap (512 KiB): the call gets
    /// a block of its own, with the same results.
    func testLinearsOverThePerThreadScratchCapEqualTwins() {
        onEveryPath { path in
            for (precision, k) in [(Precision.bf16, 4500), (.int8, 8300)] { assertLinearEqualsTwin(path, precision, 66, 5, k) }
        }
    }

    /// The GELU epilogue (applied by the int8, bf16 and packed fp32 kernels to the tile in registers)
    /// gives the same bits as the plain linear layer followed by `geluInPlace`, with and without bias,
    /// on every path and thread split; the outputs span past erf's clamp at |x / sqrt 2| = 4.
    func testGeluEpilogueEqualsLinearThenGeluPassBitForBit() {
        onEveryPath { path in
            for (m, n, k) in shapes + [(13, 40, 1536), (70, 33, 31)] {
                let x = randoms(m * k, scale: 2), w = randoms(n * k, scale: 12 / Float(k).squareRoot()), b = randoms(n, scale: 3)
                for precision in Precision.allCases {
                    let layer = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: precision, fp32Gemm: .packed)
                    for (withBias, workers) in [(true, 1), (false, 1), (true, 2)] {
                        var fused = [Float](repeating: .nan, count: m * n), plain = fused
                        layer.apply(x, rows: m, out: &fused, addBias: withBias, gelu: true, workers: workers)
                        layer.apply(x, rows: m, out: &plain, addBias: withBias, workers: workers)
                        geluInPlace(&plain, count: plain.count)
                        let what = "\(path) \(precision) [\(m), \(n), \(k)] bias \(withBias) workers \(workers)"
                        XCTAssertEqual(fused.map(\.bitPattern), plain.map(\.bitPattern), what)
                        if m * n > 200 {
                            XCTAssertGreaterThan(plain.max()!, 6, "\(what): outputs past the clamp")
                            XCTAssertLessThan(plain.min()!, 0, what)
                        }
                    }
                }
                // sgemm fp32 runs the same pass after the GEMM
                let sgemm = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .fp32, fp32Gemm: .sgemm)
                var fused = [Float](repeating: .nan, count: m * n), plain = fused
                sgemm.apply(x, rows: m, out: &fused, gelu: true)
                sgemm.apply(x, rows: m, out: &plain)
                geluInPlace(&plain, count: plain.count)
                XCTAssertEqual(fused.map(\.bitPattern), plain.map(\.bitPattern), "\(path) sgemm [\(m), \(n), \(k)]")
            }
        }
    }

    func testReducedPrecisionLinearsStayCloseToFP32() {
        let (m, n, k) = (40, 96, 384)
        let x = randoms(m * k), w = randoms(n * k, scale: 0.1), b = randoms(n)
        var exact = [Float](repeating: 0, count: m * n)
        PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .fp32).apply(x, rows: m, out: &exact)
        for (p, tol) in [(Precision.bf16, Float(0.01)), (.int8, 0.02)] {
            var y = [Float](repeating: 0, count: m * n)
            PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: p).apply(x, rows: m, out: &y)
            // Relative to the spread of the outputs (about 0.1 * sqrt(384 / 3) ~ 1.1).
            let err = zip(y, exact).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(err, tol * 10, "\(p) max error \(err)")
            XCTAssertGreaterThan(err, 0, "\(p) must actually round (a zero error means fp32 ran)")
        }
    }

    /// The AVX-512 C ports of GELU and softmax give the same bits as the Swift loops (the portable path).
    func testActivationPortsGiveTheSameBitsAsTheSwiftKernels() throws {
        guard ReducedPrecisionKernels.cpuHasInt8SIMD || ReducedPrecisionKernels.cpuHasBF16SIMD else {
            throw XCTSkip("this CPU lacks AVX-512: only the Swift activation kernels exist here")
        }
        for n in [1, 5, 15, 16, 17, 33, 128, 131, 1536] {
            let x = randoms(n * 3, scale: 12)
            var portable = x, simd = x
            ReducedPrecisionKernels.forcePortable(true)
            geluInPlace(&portable, count: x.count)
            ReducedPrecisionKernels.forcePortable(false)
            geluInPlace(&simd, count: x.count)
            XCTAssertEqual(simd, portable, "gelu n \(n * 3)")
            // softmax over 3 rows of n columns in a buffer with a wider stride (entries past n untouched)
            let ld = n + 3
            let y = randoms(3 * ld, scale: 30)
            var sp = y, ss = y
            ReducedPrecisionKernels.forcePortable(true)
            softmaxRows(&sp, rows: 3, cols: n, ld: ld, scale: 0.3)
            ReducedPrecisionKernels.forcePortable(false)
            softmaxRows(&ss, rows: 3, cols: n, ld: ld, scale: 0.3)
            XCTAssertEqual(ss, sp, "softmax cols \(n)")
            for r in 0..<3 { for c in n..<ld { XCTAssertEqual(ss[r * ld + c], y[r * ld + c]) } }
        }
    }

    func testSIMDKernelsArePresentOnThisCPUOrSaySo() throws {
        // Not a pass/fail on the hardware: records which path the other tests exercised.
        guard ReducedPrecisionKernels.cpuHasInt8SIMD && ReducedPrecisionKernels.cpuHasBF16SIMD else {
            throw XCTSkip("this CPU lacks AVX-512 VNNI or BF16: only the portable C path was tested")
        }
        ReducedPrecisionKernels.forcePortable(false)
        XCTAssertTrue(ReducedPrecisionKernels.int8SIMD && ReducedPrecisionKernels.bf16SIMD)
        ReducedPrecisionKernels.forcePortable(true)
        XCTAssertFalse(ReducedPrecisionKernels.int8SIMD || ReducedPrecisionKernels.bf16SIMD)
    }

    /// The fp32 GEMM a process uses: the environment's when set, else the packed kernel only where
    /// the CPU runs its SIMD path (the portable twin is far slower than OpenBLAS).
    func testFP32GemmChoiceFallsBackToSgemmWithoutAVX512() {
        XCTAssertEqual(FP32Gemm.choice(environment: nil, cpuHasSIMD: true), .packed)
        XCTAssertEqual(FP32Gemm.choice(environment: nil, cpuHasSIMD: false), .sgemm)
        XCTAssertEqual(FP32Gemm.choice(environment: "packed", cpuHasSIMD: false), .packed)
        XCTAssertEqual(FP32Gemm.choice(environment: "sgemm", cpuHasSIMD: true), .sgemm)
    }

    /// Activation rows with a NaN, with only tiny values (127 / max|x| overflows fp32) and with an
    /// infinity quantize alike on the SIMD and portable paths (they differed: the SIMD max let a NaN
    /// reset its running max, and an infinite scale converted to opposite ends of the int8 range).
    func testInt8PathsAgreeOnNaNTinyAndInfiniteActivations() throws {
        guard ReducedPrecisionKernels.cpuHasInt8SIMD else { throw XCTSkip("no AVX-512 VNNI on this CPU: one path only") }
        // k = 200: the SIMD max runs four chains over [0, 128), one over [128, 192), then a masked tail.
        let k = 200, n = 5
        var x = randoms(4 * k, scale: 2)
        x[3] = 100; x[67] = .nan                               // row 0: the NaN in the max's lane, after it
        for j in 0..<k { x[k + j] = Float(j % 7) * 1e-38 }    // row 1: tiny
        x[2 * k + 9] = .infinity                               // row 2 (row 3 ordinary)
        let w = randoms(n * k, scale: 0.5), b = [Float](repeating: 0, count: n)   // no bias: tiny outputs stay visible
        let layer = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .int8)
        var results: [[UInt32]] = []
        onEveryPath { _ in
            var y = [Float](repeating: 0, count: 4 * n)
            layer.apply(x, rows: 4, out: &y, workers: 1)
            results.append(y.map(\.bitPattern))
        }
        XCTAssertEqual(results.count, 2)
        XCTAssertEqual(results.first, results.last, "SIMD and portable int8 give the same bits")
    }
}
