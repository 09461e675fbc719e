import Foundation
import Kernels
import XCTest

/// The fused attention (`attentionForward`: CStrataKernels' `sk_attention_head_f32`) against its twins: bit for
/// bit between the AVX-512F and portable C paths; within stated tolerances of a naive Double twin; the same
/// bits whether or not P is kept and whatever the thread count; and a check that the tolerance comparison
/// does catch a perturbed kernel or output.
final class AttentionKernelTests: XCTestCase {
    private var rng = SplitMix64(seed: 7)
    private func randoms(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in rng.uniform() * 2 * scale - scale } }

    override func tearDown() { ReducedPrecisionKernels.forcePortable(nil) }

    /// (lengths, hidden, heads): one token, two, off the 16-lane vector (17), BERT's 128, 300 (off the 8-row
    /// block and the 32-key tile), mixed lengths in one batch; head sizes 32 (MiniLM), 64 (BERT-base), 24 and
    /// 5 (off the 16-lane vector: masked lanes), 48 (one and a half 32-wide tiles).
    private let cases: [([Int], Int, Int)] = [
        ([1], 64, 2), ([2], 64, 2), ([17], 128, 2), ([128], 64, 2), ([300], 64, 1), ([17, 1, 128, 2, 33], 64, 2),
        ([1, 17, 9], 128, 2), ([128, 5], 128, 2), ([17, 1, 40], 48, 2), ([9, 1, 16], 15, 3), ([31, 3], 96, 2),
    ]

    private struct Outputs { var ctx: [Float]; var probs: [Float]?; var dropped: [Float]? }

    /// Runs attentionForward; `keepProbs` false is inference (no probs); `mask` adds dropout.
    private func run(_ qkv: [Float], lengths: [Int], hidden: Int, heads: Int, keepProbs: Bool = true,
                     mask: [Float]? = nil, threads: Int = 2) -> Outputs {
        let n = lengths.reduce(0, +), att = attentionOffsets(lengths: lengths, heads: heads).total
        var ctx = [Float](repeating: .nan, count: n * hidden)
        var probs = [Float](repeating: .nan, count: max(1, att)), dropped = probs
        probs.withUnsafeMutableBufferPointer { p in
            dropped.withUnsafeMutableBufferPointer { dp in
                func call(_ mp: UnsafePointer<Float>?) {
                    attentionForward(ctx: &ctx, probs: keepProbs ? p.baseAddress : nil, dropped: mp != nil ? dp.baseAddress : nil,
                                     qkv: qkv, lengths: lengths, dropMask: mp, hidden: hidden, heads: heads,
                                     parallelism: Parallelism(threads: threads))
                }
                if let mask { mask.withUnsafeBufferPointer { call($0.baseAddress) } } else { call(nil) }
            }
        }
        return Outputs(ctx: ctx, probs: keepProbs ? Array(probs.prefix(att)) : nil, dropped: mask != nil ? Array(dropped.prefix(att)) : nil)
    }

    /// Inverted-dropout mask laid out like probs: 0 or 1/(1 - 0.1).
    private func dropMask(_ count: Int) -> [Float] { (0..<count).map { _ in rng.uniform() < 0.1 ? 0 : 1 / Float(0.9) } }

    /// The twin's outputs; ctxMagnitude[i, c] = sum_j |u_j v_j[c]| (the scale of ctx's rounding errors).
    private struct Twin { var ctx: [Double]; var ctxMagnitude: [Double]; var probs: [Double]; var dropped: [Double] }

    /// The naive twin in Double: per sequence b, head h, query i: s_j = (q_i . k_j) / sqrt d,
    /// p = softmax(s), u = p * mask, ctx_i = sum_j u_j v_j.
    private func twin(_ qkv: [Float], lengths: [Int], hidden: Int, heads: Int, mask: [Float]?)
        -> Twin {
        let d = hidden / heads, h3 = 3 * hidden, s = 1 / Double(d).squareRoot()
        let x = qkv.map(Double.init)
        let toks = tokenOffsets(lengths: lengths), (pOffs, att) = attentionOffsets(lengths: lengths, heads: heads)
        var ctx = [Double](repeating: 0, count: lengths.reduce(0, +) * hidden), mag = ctx
        var probs = [Double](repeating: 0, count: att), dropped = probs
        for (b, len) in lengths.enumerated() {
            for h in 0..<heads {
                let po = pOffs[b] + h * len * len
                for i in 0..<len {
                    let qi = (toks[b] + i) * h3 + h * d
                    var sc = [Double](repeating: 0, count: len)
                    for j in 0..<len {
                        let kj = (toks[b] + j) * h3 + hidden + h * d
                        var acc = 0.0
                        for t in 0..<d { acc += x[qi + t] * x[kj + t] }
                        sc[j] = acc * s
                    }
                    let mx = sc.max()!
                    let e = sc.map { exp($0 - mx) }, z = e.reduce(0, +)
                    for j in 0..<len {
                        probs[po + i * len + j] = e[j] / z
                        dropped[po + i * len + j] = e[j] / z * Double(mask?[po + i * len + j] ?? 1)
                    }
                    for c in 0..<d {
                        var acc = 0.0, m = 0.0
                        for j in 0..<len {
                            let t = dropped[po + i * len + j] * x[(toks[b] + j) * h3 + 2 * hidden + h * d + c]
                            acc += t; m += abs(t)
                        }
                        ctx[(toks[b] + i) * hidden + h * d + c] = acc
                        mag[(toks[b] + i) * hidden + h * d + c] = m
                    }
                }
            }
        }
        return Twin(ctx: ctx, ctxMagnitude: mag, probs: probs, dropped: dropped)
    }

    /// The stated tolerances: ctx |got - want| <= 1e-5 sum_j |u_j v_j| + 1e-30 (relative to the magnitude of the
    /// summed terms: ctx entries are often near-cancelling sums); probabilities (and dropped, which is P times a
    /// mask value) |got - want| <= 2e-5 |want| + 1e-9: the exponent s*scale - max*scale carries rounding of
    /// about an ulp of the logits (up to ~50 in the peaked case: ~6e-6 relative in p; measured worst 8.7e-6), and
    /// the 1e-9 covers entries that fastExp clamps at e^-87.3 instead of underflowing further.
    /// (Measured worst ctx error: 5.8e-6 of the magnitude.) Returns the first violation, nil when all hold.
    private func violation(_ got: Outputs, _ want: Twin) -> String? {
        for (i, g) in got.ctx.enumerated() where !(abs(Double(g) - want.ctx[i]) <= 1e-5 * want.ctxMagnitude[i] + 1e-30) {
            return "ctx[\(i)] = \(g), want \(want.ctx[i]) (magnitude \(want.ctxMagnitude[i]))"
        }
        for (name, got, w) in [("probs", got.probs, want.probs), ("dropped", got.dropped, want.dropped)] {
            guard let got else { continue }
            for (i, g) in got.enumerated() where !(abs(Double(g) - w[i]) <= 2e-5 * abs(w[i]) + 1e-9) {
                return "\(name)[\(i)] = \(g), want \(w[i])"
            }
        }
        return nil
    }


    func testSIMDAndPortablePathsGiveIdenticalBits() {
        XCTAssertEqual(AttentionKernel.simd, ReducedPrecisionKernels.cpuHasFP32SIMD
                       && ProcessInfo.processInfo.environment["STRATA_FORCE_PORTABLE"].map { $0.isEmpty || $0 == "0" } ?? true)
        for (lengths, hidden, heads) in cases + [([512], 64, 1)] {
            let n = lengths.reduce(0, +), att = attentionOffsets(lengths: lengths, heads: heads).total
            let qkv = randoms(n * 3 * hidden, scale: 2), mask = dropMask(att)
            for withMask in [false, true] {
                let m = withMask ? mask : nil
                ReducedPrecisionKernels.forcePortable(true)
                XCTAssertFalse(AttentionKernel.simd)
                let portable = run(qkv, lengths: lengths, hidden: hidden, heads: heads, mask: m)
                guard ReducedPrecisionKernels.cpuHasFP32SIMD else { continue }
                ReducedPrecisionKernels.forcePortable(false)
                XCTAssertTrue(AttentionKernel.simd)
                let simd = run(qkv, lengths: lengths, hidden: hidden, heads: heads, mask: m)
                let what = "lengths \(lengths) hidden \(hidden) heads \(heads) dropout \(withMask)"
                assertBitsEqual(simd.ctx, portable.ctx, "\(what) ctx")
                assertBitsEqual(simd.probs, portable.probs, "\(what) probs")
                assertBitsEqual(simd.dropped, portable.dropped, "\(what) dropped")
            }
        }
        if !ReducedPrecisionKernels.cpuHasFP32SIMD { print("AttentionKernelTests: no AVX-512F here; only the portable path ran") }
    }

    /// Both paths against the Double twin at the tolerances of `violation`, with and without dropout, and with
    /// peaked softmax (qkv scale 4: logits up to ~100, most probabilities underflow).
    func testAgainstDoubleTwin() {
        for path in ["portable", "simd"] {
            if path == "simd" && !ReducedPrecisionKernels.cpuHasFP32SIMD { continue }
            ReducedPrecisionKernels.forcePortable(path == "portable")
            for (lengths, hidden, heads) in cases {
                for (scale, withMask) in [(Float(1), false), (1, true), (4, false)] {
                    let n = lengths.reduce(0, +), att = attentionOffsets(lengths: lengths, heads: heads).total
                    let qkv = randoms(n * 3 * hidden, scale: scale), mask = withMask ? dropMask(att) : nil
                    let got = run(qkv, lengths: lengths, hidden: hidden, heads: heads, mask: mask)
                    let want = twin(qkv, lengths: lengths, hidden: hidden, heads: heads, mask: mask)
                    if let v = violation(got, want) {
                        XCTFail("\(path) lengths \(lengths) hidden \(hidden) heads \(heads) scale \(scale) dropout \(withMask): \(v)")
                    }
                }
            }
        }
    }

    /// The comparison above can fail: it rejects a kernel that read one key element off by 0.01, and
    /// single output entries (ctx, probs, dropped) changed by 1e-4 relative (5x the probabilities' tolerance).
    func testTwinComparisonCatchesPerturbations() {
        let lengths = [17, 40], hidden = 64, heads = 2
        let n = lengths.reduce(0, +), att = attentionOffsets(lengths: lengths, heads: heads).total
        let qkv = randoms(n * 3 * hidden), mask = dropMask(att)
        let want = twin(qkv, lengths: lengths, hidden: hidden, heads: heads, mask: mask)
        let good = run(qkv, lengths: lengths, hidden: hidden, heads: heads, mask: mask)
        XCTAssertNil(violation(good, want), "the unperturbed kernel passes")
        var wrongKey = qkv
        wrongKey[(17 + 3) * 3 * hidden + hidden + 5] += 0.01                   // sequence 1, token 3, head 0's k
        XCTAssertNotNil(violation(run(wrongKey, lengths: lengths, hidden: hidden, heads: heads, mask: mask), want),
                        "a kernel reading a slightly wrong key fails")
        var bad = good
        let largest = want.ctx.indices.max { abs(want.ctx[$0]) < abs(want.ctx[$1]) }!
        bad.ctx[largest] *= 1.0001
        XCTAssertNotNil(violation(bad, want), "ctx off by 1e-4 relative fails")
        let big = good.probs!.indices.max { good.probs![$0] < good.probs![$1] }!
        bad = good
        bad.probs![big] *= 1.0001
        XCTAssertNotNil(violation(bad, want), "probs off by 1e-4 relative fails")
        bad = good
        bad.dropped![big] = bad.dropped![big] == 0 ? 1e-6 : bad.dropped![big] * 1.0001
        XCTAssertNotNil(violation(bad, want), "dropped off by 1e-4 relative fails")
    }

    /// Training (probs kept) and inference (probs nil) give the same ctx bits, and the thread count (which
    /// splits the (sequence, head) items differently) changes nothing.
    func testIndependentOfKeptProbsAndThreads() {
        for (lengths, hidden, heads) in [([300], 64, 2), ([17, 1, 128, 2, 33], 64, 2), ([1], 48, 2)] {
            let qkv = randoms(lengths.reduce(0, +) * 3 * hidden, scale: 2)
            let base = run(qkv, lengths: lengths, hidden: hidden, heads: heads, keepProbs: true, threads: 1)
            for threads in [1, 2, 3, 8] {
                let inference = run(qkv, lengths: lengths, hidden: hidden, heads: heads, keepProbs: false, threads: threads)
                let training = run(qkv, lengths: lengths, hidden: hidden, heads: heads, keepProbs: true, threads: threads)
                assertBitsEqual(inference.ctx, base.ctx, "lengths \(lengths) inference, \(threads) threads")
                assertBitsEqual(training.ctx, base.ctx, "lengths \(lengths) training, \(threads) threads")
                assertBitsEqual(training.probs, base.probs, "lengths \(lengths) probs, \(threads) threads")
            }
        }
    }
}
