import Foundation
import Kernels
import XCTest

/// The packed fp32 kernel (`PackedLinear` with `FP32Gemm.packed`: CStrataKernels' `sk_f32_linear`)
/// against its twins: bit for bit against a Swift chain of fused multiply-adds in the kernel's order, on
/// the AVX-512F path and the portable C path; within a stated tolerance of a Double reference; and
/// independent of the batch and of the thread split.
final class PackedFP32KernelTests: XCTestCase {
    private var rng = SplitMix64(seed: 11)
    private func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 * scale - scale } }

    /// (rows, out, in): single elements, M = 1, odd K, N not a multiple of 16 or 32, M off the 12-row tile.
    private let shapes = [(1, 1, 1), (1, 384, 384), (3, 5, 7), (12, 32, 4), (13, 33, 13), (17, 47, 385),
                          (49, 100, 96), (65, 16, 31), (2, 1536, 1537)]

    override func tearDown() { ReducedPrecisionKernels.forcePortable(nil) }

    private func packedApply(_ x: [Float], rows: Int, w: [Float], b: [Float], n: Int, k: Int,
                             addBias: Bool = true, workers: Int = 1) -> [Float] {
        let l = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .fp32, fp32Gemm: .packed)
        var y = [Float](repeating: .nan, count: rows * n)
        l.apply(x, rows: rows, out: &y, addBias: addBias, workers: workers)
        return y
    }

    /// The kernel's definition in Swift: acc = +0, acc = fma(x[p], w[p], acc) for p in order, then + bias.
    private func fmaTwin(_ x: [Float], rows: Int, w: [Float], b: [Float]?, n: Int, k: Int) -> [Float] {
        var y = [Float](repeating: 0, count: rows * n)
        for i in 0..<rows {
            for j in 0..<n {
                var acc: Float = 0
                for p in 0..<k { acc = acc.addingProduct(x[i * k + p], w[j * k + p]) }
                y[i * n + j] = b.map { acc + $0[j] } ?? acc
            }
        }
        return y
    }


    func testSIMDAndPortableEqualTheFMATwinBitForBit() {
        XCTAssertEqual(FP32Gemm.process, FP32Gemm.choice(environment: ProcessInfo.processInfo.environment["STRATA_FP32_GEMM"],
                                                        cpuHasSIMD: ReducedPrecisionKernels.cpuHasFP32SIMD))
        for (m, n, k) in shapes {
            let x = randoms(m * k), w = randoms(n * k, scale: 0.2), b = randoms(n)
            for addBias in [true, false] {
                let want = fmaTwin(x, rows: m, w: w, b: addBias ? b : nil, n: n, k: k)
                ReducedPrecisionKernels.forcePortable(true)
                let portable = packedApply(x, rows: m, w: w, b: b, n: n, k: k, addBias: addBias)
                assertBitsEqual(portable, want, "portable [\(m), \(n), \(k)] bias \(addBias)")
                if ReducedPrecisionKernels.cpuHasFP32SIMD {
                    ReducedPrecisionKernels.forcePortable(false)
                    XCTAssertTrue(ReducedPrecisionKernels.fp32SIMD)
                    let simd = packedApply(x, rows: m, w: w, b: b, n: n, k: k, addBias: addBias)
                    assertBitsEqual(simd, portable, "SIMD vs portable [\(m), \(n), \(k)] bias \(addBias)")
                }
            }
        }
    }

    /// The GELU epilogue equals the FMA twin followed by the scalar GELU of Kernels (`fastErf`,
    /// `geluInPlace` forced onto the Swift path), on the SIMD and the portable path.
    func testGeluEpilogueEqualsFMATwinThenSwiftGelu() {
        for (m, n, k) in shapes {
            let x = randoms(m * k, scale: 2), w = randoms(n * k, scale: 8 / Float(k).squareRoot()), b = randoms(n)
            var want = fmaTwin(x, rows: m, w: w, b: b, n: n, k: k)
            ReducedPrecisionKernels.forcePortable(true)      // the Swift GELU (sk_activations_simd_active() is 0)
            geluInPlace(&want, count: want.count)
            for portable in [true, false] where portable || ReducedPrecisionKernels.cpuHasFP32SIMD {
                ReducedPrecisionKernels.forcePortable(portable)
                let l = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .fp32, fp32Gemm: .packed)
                var y = [Float](repeating: .nan, count: m * n)
                l.apply(x, rows: m, out: &y, gelu: true, workers: 1)
                assertBitsEqual(y, want, "\(portable ? "portable" : "SIMD") gelu epilogue [\(m), \(n), \(k)]")
            }
        }
    }

    /// Against a Double reference: |y - ref| <= K * 2^-24 * (sum |x w| + |b|) + 2^-24 |ref| + 1e-30
    /// (the forward error bound of a K-term fused-multiply-add chain and one rounded bias add).
    func testWithinRoundingBoundOfDoubleReference() {
        for (m, n, k) in shapes {
            let x = randoms(m * k, scale: 3), w = randoms(n * k, scale: 0.1), b = randoms(n)
            let y = packedApply(x, rows: m, w: w, b: b, n: n, k: k)
            for i in 0..<m {
                for j in 0..<n {
                    var ref = Double(b[j]), mag = Double(abs(b[j]))
                    for p in 0..<k { let t = Double(x[i * k + p]) * Double(w[j * k + p]); ref += t; mag += abs(t) }
                    let tol = Double(k + 1) * 0x1p-24 * mag + 0x1p-24 * abs(ref) + 1e-30
                    if abs(Double(y[i * n + j]) - ref) > tol {
                        XCTFail("[\(m), \(n), \(k)] at (\(i), \(j)): \(y[i * n + j]) vs \(ref) (tolerance \(tol))"); return
                    }
                }
            }
        }
    }

    /// A row's result does not depend on the batch it came in nor on the split over threads (rows for
    /// large batches, 32-column blocks for small ones).
    func testRowsIndependentOfBatchAndThreadSplit() {
        let n = 1152 + 7, k = 384, m = 120
        let x = randoms(m * k), w = randoms(n * k, scale: 0.1), b = randoms(n)
        let one = packedApply(x, rows: m, w: w, b: b, n: n, k: k, workers: 1)
        let rowSplit = packedApply(x, rows: m, w: w, b: b, n: n, k: k, workers: 2)       // 120 >= 48 x 2: rows
        assertBitsEqual(rowSplit, one, "2 workers (row split) vs 1")
        for i in [0, 57, m - 1] {
            let row = Array(x[(i * k)..<((i + 1) * k)])
            for workers in [1, 2, 3] {                                                     // 1 row: column blocks
                let alone = packedApply(row, rows: 1, w: w, b: b, n: n, k: k, workers: workers)
                assertBitsEqual(alone, Array(one[(i * n)..<((i + 1) * n)]), "row \(i) alone, \(workers) workers")
            }
        }
    }

    /// The packed kernel and OpenBLAS sgemm (the other `FP32Gemm`) agree to fp32 rounding.
    func testPackedMatchesSgemmToRounding() {
        let (m, n, k) = (33, 385, 1536)
        let x = randoms(m * k), w = randoms(n * k, scale: 0.05), b = randoms(n)
        let p = packedApply(x, rows: m, w: w, b: b, n: n, k: k, workers: 2)
        let s = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .fp32, fp32Gemm: .sgemm)
        var y = [Float](repeating: .nan, count: m * n)
        s.apply(x, rows: m, out: &y, workers: 2)
        for i in 0..<(m * n) { XCTAssertEqual(p[i], y[i], accuracy: 2e-5 * max(1, abs(y[i])), "element \(i)") }
        XCTAssertEqual(PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .fp32, fp32Gemm: .packed).weightBytes,
                       416 * k * 4, "N padded to a multiple of 32")
    }
}
