import Foundation
import Kernels
import XCTest

/// The bf16 attention (`attentionForward(precision: .bf16)`: CStrataKernels' `sk_attention_head_bf16`) against its
/// twins: bit for bit between the AVX-512 BF16 and portable C paths; within a derived bound of a naive Double
/// twin; a check that the bound does catch perturbed inputs and outputs; independence of the thread count;
/// and the `AttentionPrecision.override` switch (inference only).
final class AttentionBF16Tests: XCTestCase {
    private var rng = SplitMix64(seed: 11)
    private func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 * scale - scale } }

    override func tearDown() {
        ReducedPrecisionKernels.forcePortable(nil)
        AttentionPrecision.setOverride(nil)
    }

    /// (lengths, hidden, heads): lengths 1, 2 (one key pair), 17 (odd: a half pair; off the 16-lane vector),
    /// 128, 300 (off the 8-row block and 32-key tile), 512, mixed batches; head sizes 32 (MiniLM), 64 (BERT-base),
    /// 24, 48 and 33 / 5 / 15 (odd: a half pair of channels; off the 16-lane vector).
    private let cases: [([Int], Int, Int)] = [
        ([1], 64, 2), ([2], 64, 2), ([17], 128, 2), ([128], 64, 2), ([128], 384, 12), ([300], 64, 1),
        ([17, 1, 128, 2, 33], 64, 2), ([1, 17, 9], 128, 2), ([128, 5], 128, 2), ([17, 1, 40], 48, 2),
        ([9, 1, 16], 15, 3), ([31, 3], 96, 2), ([20, 7], 66, 2), ([3, 18], 5, 1),
    ]

    /// ctx of attentionForward in `precision` (inference: no probs, no dropout).
    private func run(_ qkv: [Float], lengths: [Int], hidden: Int, heads: Int, precision: AttentionPrecision = .bf16,
                     threads: Int = 2) -> [Float] {
        var ctx = [Float](repeating: .nan, count: lengths.reduce(0, +) * hidden)
        attentionForward(ctx: &ctx, probs: nil, dropped: nil, qkv: qkv, lengths: lengths, dropMask: nil, hidden: hidden,
                         heads: heads, parallelism: Parallelism(threads: threads), precision: precision)
        return ctx
    }

    /// The exact result in Double and, per output element, the bound `bound` of the bf16 kernel's error.
    private struct Twin { var ctx: [Double]; var bound: [Double] }

    /// bf16's unit roundoff (8 significant bits, round to nearest): |bf16(x) - x| <= u |x| for normal x.
    private static let u = 0x1p-9

    /// The naive twin in Double: per sequence b, head h, query i: s_j = q_i . k_j, p = softmax(s / sqrt d),
    /// ctx_i = sum_j p_j v_j, and the error bound, derived to first order from where the kernel rounds:
    ///   scores: bf16(q), bf16(k) put each product off by <= (2u + u^2) |q_t k_t| (fp32 sums add <= d 2^-24 of
    ///     the same), so each logit l_j = s_j / sqrt d is off by <= L = max_j (2u + u^2 + d 2^-24) S_j / sqrt d,
    ///     S_j = sum_t |q_t k_t|; p_j = e^{l_j} / sum_k e^{l_k} is then off by a factor within e^{+-2L}.
    ///   fp32 softmax (fastExp, the sum, the reciprocal): <= 1e-5 relative in p (the fp32 kernel's measured worst
    ///     is 8.7e-6, AttentionKernelTests).
    ///   context: bf16(p), bf16(v): 2u + u^2 per product, fp32 sums <= len 2^-24.
    /// So |ctx_c - want_c| <= (e^{2L} - 1 + 1e-5 + 2u + u^2 + len 2^-24) (1 + small) M_c + 1e-30, M_c = sum_j
    /// |p_j v_j[c]| (ctx entries are often near-cancelling sums, so the bound is against the summed terms'
    /// magnitude; 1e-30 covers flushed denormals). The bound is taken with a factor 1.1 for the second-order terms.
    /// For MiniLM-like inputs (d 32, |q|, |k| ~ 1) L ~ 1e-2, so the bound is ~2.5e-2 of M_c.
    private func twin(_ qkv: [Float], lengths: [Int], hidden: Int, heads: Int) -> Twin {
        let d = hidden / heads, h3 = 3 * hidden, scale = 1 / Double(d).squareRoot(), u = Self.u
        let x = qkv.map(Double.init), toks = tokenOffsets(lengths: lengths)
        var ctx = [Double](repeating: 0, count: lengths.reduce(0, +) * hidden), bound = ctx
        for (b, len) in lengths.enumerated() {
            for h in 0..<heads {
                for i in 0..<len {
                    let qi = (toks[b] + i) * h3 + h * d
                    var sc = [Double](repeating: 0, count: len), maxS = 0.0
                    for j in 0..<len {
                        let kj = (toks[b] + j) * h3 + hidden + h * d
                        var acc = 0.0, mag = 0.0
                        for t in 0..<d { acc += x[qi + t] * x[kj + t]; mag += abs(x[qi + t] * x[kj + t]) }
                        sc[j] = acc * scale
                        maxS = max(maxS, mag)
                    }
                    let logitError = (2 * u + u * u + Double(d) * 0x1p-24) * maxS * scale
                    let rel = 1.1 * (exp(2 * logitError) - 1 + 1e-5 + 2 * u + u * u + Double(len) * 0x1p-24)
                    let mx = sc.max()!
                    let e = sc.map { exp($0 - mx) }, z = e.reduce(0, +)
                    for c in 0..<d {
                        var acc = 0.0, m = 0.0
                        for j in 0..<len {
                            let t = e[j] / z * x[(toks[b] + j) * h3 + 2 * hidden + h * d + c]
                            acc += t; m += abs(t)
                        }
                        ctx[(toks[b] + i) * hidden + h * d + c] = acc
                        bound[(toks[b] + i) * hidden + h * d + c] = rel * m + 1e-30
                    }
                }
            }
        }
        return Twin(ctx: ctx, bound: bound)
    }

    /// The first element outside the twin's bound, nil when all hold; `worst` receives max |error| / bound.
    private func violation(_ got: [Float], _ want: Twin, worst: inout Double) -> String? {
        for (i, g) in got.enumerated() {
            let err = abs(Double(g) - want.ctx[i])
            worst = max(worst, err / want.bound[i])
            if !(err <= want.bound[i]) { return "ctx[\(i)] = \(g), want \(want.ctx[i]) (bound \(want.bound[i]))" }
        }
        return nil
    }


    func testSIMDAndPortablePathsGiveIdenticalBits() {
        XCTAssertEqual(AttentionKernel.bf16SIMD, ReducedPrecisionKernels.cpuHasBF16SIMD
                       && ProcessInfo.processInfo.environment["STRATA_FORCE_PORTABLE"].map { $0.isEmpty || $0 == "0" } ?? true)
        // plus 512 tokens, and inputs over a wide exponent range (bf16 denormal flushing of inputs and products)
        var inputs: [(String, [Int], Int, Int, [Float])] = (cases + [([512], 64, 1)]).map { lengths, hidden, heads in
            ("uniform", lengths, hidden, heads, randoms(lengths.reduce(0, +) * 3 * hidden, scale: 2))
        }
        let wide = (0..<(33 * 3 * 64)).map { _ in (rng.uniform() * 2 - 1) * Float(sign: .plus, exponent: Int(rng.uniform() * 140) - 130, significand: 1) }
        inputs.append(("wide exponents", [33], 64, 2, wide))
        for (kind, lengths, hidden, heads, qkv) in inputs {
            ReducedPrecisionKernels.forcePortable(true)
            XCTAssertFalse(AttentionKernel.bf16SIMD)
            let portable = run(qkv, lengths: lengths, hidden: hidden, heads: heads)
            XCTAssertFalse(portable.contains { !$0.isFinite }, "\(kind) lengths \(lengths): non-finite output")
            guard ReducedPrecisionKernels.cpuHasBF16SIMD else { continue }
            ReducedPrecisionKernels.forcePortable(false)
            XCTAssertTrue(AttentionKernel.bf16SIMD)
            let simd = run(qkv, lengths: lengths, hidden: hidden, heads: heads)
            assertBitsEqual(simd, portable, "\(kind) lengths \(lengths) hidden \(hidden) heads \(heads)")
        }
        if !ReducedPrecisionKernels.cpuHasBF16SIMD { print("AttentionBF16Tests: no AVX512_BF16 here; only the portable path ran") }
    }

    /// Both paths within the derived bound of the Double twin, for |qkv| <= 1 (MiniLM-like logits) and <= 3
    /// (peaked softmax: logits up to ~50); and the bf16 result is not the fp32 one (the bf16 kernel ran).
    func testAgainstDoubleTwinWithinDerivedBound() {
        var worst = 0.0
        for path in ["portable", "simd"] {
            if path == "simd" && !ReducedPrecisionKernels.cpuHasBF16SIMD { continue }
            ReducedPrecisionKernels.forcePortable(path == "portable")
            for (lengths, hidden, heads) in cases + [([512], 64, 1)] {
                for scale: Float in [1, 3] {
                    let qkv = randoms(lengths.reduce(0, +) * 3 * hidden, scale: scale)
                    let got = run(qkv, lengths: lengths, hidden: hidden, heads: heads)
                    if let v = violation(got, twin(qkv, lengths: lengths, hidden: hidden, heads: heads), worst: &worst) {
                        XCTFail("\(path) lengths \(lengths) hidden \(hidden) heads \(heads) scale \(scale): \(v)")
                    }
                    if lengths.reduce(0, +) > 2 {
                        XCTAssertNotEqual(got, run(qkv, lengths: lengths, hidden: hidden, heads: heads, precision: .fp32),
                                          "bf16 and fp32 attention agree bit for bit: did the bf16 kernel run?")
                    }
                }
            }
        }
        print(String(format: "AttentionBF16Tests: worst |error| / bound against the Double twin: %.3f", worst))
    }

    /// The bound can fail: it rejects a kernel that read the last (half-pair) key's value row off by 0.5, or
    /// all of one key's row off by 0.25, and outputs changed by 5% (the bound is ~2.5% of the summed terms).
    func testBoundCatchesPerturbations() {
        let lengths = [17, 40], hidden = 64, heads = 2
        let qkv = randoms(lengths.reduce(0, +) * 3 * hidden)
        let want = twin(qkv, lengths: lengths, hidden: hidden, heads: heads)
        var worst = 0.0
        let good = run(qkv, lengths: lengths, hidden: hidden, heads: heads)
        XCTAssertNil(violation(good, want, worst: &worst), "the unperturbed kernel passes")
        var wrongValue = qkv
        for c in 0..<32 { wrongValue[16 * 3 * hidden + 2 * hidden + c] += 0.5 }     // sequence 0, token 16 (odd tail), head 0's v
        XCTAssertNotNil(violation(run(wrongValue, lengths: lengths, hidden: hidden, heads: heads), want, worst: &worst),
                        "a kernel reading the odd tail's value wrong fails")
        var wrongKey = qkv
        for t in 0..<32 { wrongKey[(17 + 3) * 3 * hidden + hidden + t] += 0.25 }    // sequence 1, token 3, head 0's k
        XCTAssertNotNil(violation(run(wrongKey, lengths: lengths, hidden: hidden, heads: heads), want, worst: &worst),
                        "a kernel reading a wrong key fails")
        var bad = good
        let largest = want.ctx.indices.max { abs(want.ctx[$0]) < abs(want.ctx[$1]) }!
        bad[largest] *= 1.05
        XCTAssertNotNil(violation(bad, want, worst: &worst), "ctx off by 5% fails")
    }

    /// The thread count (which splits the (sequence, head) items differently) changes no bit.
    func testIndependentOfThreads() {
        for (lengths, hidden, heads) in [([300], 64, 2), ([17, 1, 128, 2, 33], 64, 2), ([1], 48, 2)] {
            let qkv = randoms(lengths.reduce(0, +) * 3 * hidden, scale: 2)
            let base = run(qkv, lengths: lengths, hidden: hidden, heads: heads, threads: 1)
            for threads in [2, 3, 8] {
                assertBitsEqual(run(qkv, lengths: lengths, hidden: hidden, heads: heads, threads: threads), base,
                                "lengths \(lengths), \(threads) threads")
            }
        }
    }

    /// `AttentionPrecision.override` switches inference calls either way and leaves training calls (probs kept) fp32.
    func testOverrideSwitchesInferenceOnly() {
        let lengths = [40, 9], hidden = 64, heads = 2, n = 49
        let qkv = randoms(n * 3 * hidden)
        AttentionPrecision.setOverride(nil)
        let fp32 = run(qkv, lengths: lengths, hidden: hidden, heads: heads, precision: .fp32)
        let bf16 = run(qkv, lengths: lengths, hidden: hidden, heads: heads, precision: .bf16)
        XCTAssertNotEqual(fp32, bf16)
        AttentionPrecision.setOverride(.bf16)
        assertBitsEqual(run(qkv, lengths: lengths, hidden: hidden, heads: heads, precision: .fp32), bf16, "override bf16")
        var ctx = [Float](repeating: .nan, count: n * hidden)
        var probs = [Float](repeating: .nan, count: attentionOffsets(lengths: lengths, heads: heads).total)
        attentionForward(ctx: &ctx, probs: &probs, dropped: nil, qkv: qkv, lengths: lengths, dropMask: nil, hidden: hidden,
                         heads: heads, parallelism: Parallelism(threads: 2))
        assertBitsEqual(ctx, fp32, "a training call under override bf16 stays fp32")
        AttentionPrecision.setOverride(.fp32)
        assertBitsEqual(run(qkv, lengths: lengths, hidden: hidden, heads: heads, precision: .bf16), fp32, "override fp32")
    }
}
