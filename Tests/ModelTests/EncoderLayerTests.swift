import Foundation
import Kernels
import Model
import XCTest

/// The one encoder-layer forward (`encoderLayerForward`) against a naive double-precision twin of the
/// BERT layer, with and without dropout masks, through borrowed fp32 weights and through packed copies,
/// with inference's aliased buffers and training's separate ones.
final class EncoderLayerTests: XCTestCase {
    let h = 16, heads = 2, inter = 40
    let lengths = [5, 1, 9]

    struct Params {
        var wqkv: [Float], bqkv: [Float], wo: [Float], bo: [Float], g1: [Float], b1: [Float]
        var wi: [Float], bi: [Float], wout: [Float], bout: [Float], g2: [Float], b2: [Float]
    }

    func randomParams(_ rng: inout SplitMix64) -> Params {
        func r(_ n: Int, _ s: Float, _ m: Float = 0) -> [Float] { (0..<n).map { _ in m + s * rng.normal() } }
        return Params(wqkv: r(3 * h * h, 0.3), bqkv: r(3 * h, 0.1), wo: r(h * h, 0.3), bo: r(h, 0.1),
                      g1: r(h, 0.1, 1), b1: r(h, 0.1), wi: r(inter * h, 0.3), bi: r(inter, 0.1),
                      wout: r(h * inter, 0.3), bout: r(h, 0.1), g2: r(h, 0.1, 1), b2: r(h, 0.1))
    }

    /// Naive twin: the BERT layer in Double, masks applied after each bias (inverted dropout).
    func reference(_ p: Params, x: [Float], attnMask: [Float]?, mask1: [Float]?, mask2: [Float]?) -> [Float] {
        let n = x.count / h, d = h / heads
        func linear(_ a: [Double], _ w: [Float], _ b: [Float], _ inF: Int, _ outF: Int) -> [Double] {
            var o = [Double](repeating: 0, count: a.count / inF * outF)
            for r in 0..<(a.count / inF) { for j in 0..<outF {
                var s = Double(b[j])
                for k in 0..<inF { s += a[r * inF + k] * Double(w[j * inF + k]) }
                o[r * outF + j] = s
            } }
            return o
        }
        func norm(_ a: [Double], _ g: [Float], _ b: [Float]) -> [Double] {
            var o = a
            for r in 0..<(a.count / h) {
                let row = a[(r * h)..<(r * h + h)]
                let m = row.reduce(0, +) / Double(h)
                let v = row.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(h)
                for j in 0..<h { o[r * h + j] = (a[r * h + j] - m) / (v + 1e-12).squareRoot() * Double(g[j]) + Double(b[j]) }
            }
            return o
        }
        let xd = x.map(Double.init)
        let qkv = linear(xd, p.wqkv, p.bqkv, h, 3 * h)
        var ctx = [Double](repeating: 0, count: n * h)
        var tok = 0, po = 0
        for len in lengths {
            for hd in 0..<heads {
                for i in 0..<len {
                    var s = (0..<len).map { j -> Double in
                        (0..<d).reduce(0.0) { $0 + qkv[(tok + i) * 3 * h + hd * d + $1] * qkv[(tok + j) * 3 * h + h + hd * d + $1] }
                            / Double(d).squareRoot()
                    }
                    let mx = s.max()!
                    s = s.map { exp($0 - mx) }
                    let sum = s.reduce(0, +)
                    for j in 0..<len {
                        let pr = s[j] / sum * Double(attnMask?[po + hd * len * len + i * len + j] ?? 1)
                        for c in 0..<d { ctx[(tok + i) * h + hd * d + c] += pr * qkv[(tok + j) * 3 * h + 2 * h + hd * d + c] }
                    }
                }
            }
            tok += len; po += heads * len * len
        }
        var r1 = linear(ctx, p.wo, p.bo, h, h)
        for i in 0..<r1.count { r1[i] = r1[i] * Double(mask1?[i] ?? 1) + xd[i] }
        let x1 = norm(r1, p.g1, p.b1)
        var act = linear(x1, p.wi, p.bi, h, inter)
        act = act.map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
        var r2 = linear(act, p.wout, p.bout, inter, h)
        for i in 0..<r2.count { r2[i] = r2[i] * Double(mask2?[i] ?? 1) + x1[i] }
        return norm(r2, p.g2, p.b2).map(Float.init)
    }

    /// Runs `body` with the parameters as borrowed fp32 views (training's way: no copy).
    func withBorrowed<R>(_ p: Params, _ body: (EncoderLayerWeights) -> R) -> R {
        let all = [p.wqkv, p.bqkv, p.wo, p.bo, p.g1, p.b1, p.wi, p.bi, p.wout, p.bout, p.g2, p.b2]
        let buf = UnsafeMutablePointer<Float>.allocate(capacity: all.reduce(0) { $0 + $1.count })
        defer { buf.deallocate() }
        var offs: [Int] = [], at = 0
        for t in all { (buf + at).initialize(from: t, count: t.count); offs.append(at); at += t.count }
        let q = UnsafePointer(buf)
        let w = EncoderLayerWeights(
            qkv: .borrowed(weight: q + offs[0], bias: q + offs[1], outFeatures: 3 * h, inFeatures: h),
            attentionOutput: .borrowed(weight: q + offs[2], bias: q + offs[3], outFeatures: h, inFeatures: h),
            attentionNorm: .borrowed(gamma: q + offs[4], beta: q + offs[5], eps: 1e-12),
            intermediate: .borrowed(weight: q + offs[6], bias: q + offs[7], outFeatures: inter, inFeatures: h),
            output: .borrowed(weight: q + offs[8], bias: q + offs[9], outFeatures: h, inFeatures: inter),
            outputNorm: .borrowed(gamma: q + offs[10], beta: q + offs[11], eps: 1e-12))
        return body(w)
    }

    /// Packed copies for `precision` (fp32: the packed fp32 GEMM, whatever STRATA_FP32_GEMM says).
    func packed(_ p: Params, _ precision: Precision) -> EncoderLayerWeights {
        func l(_ w: [Float], _ b: [Float], _ o: Int, _ i: Int) -> PackedLinear {
            PackedLinear(weight: w, bias: b, outFeatures: o, inFeatures: i, precision: precision, fp32Gemm: .packed)
        }
        return EncoderLayerWeights(
            qkv: .packed(l(p.wqkv, p.bqkv, 3 * h, h)),
            attentionOutput: .packed(l(p.wo, p.bo, h, h)),
            attentionNorm: .owned(LayerNormWeights(gamma: p.g1, beta: p.b1, eps: 1e-12)),
            intermediate: .packed(l(p.wi, p.bi, inter, h)),
            output: .packed(l(p.wout, p.bout, h, inter)),
            outputNorm: .owned(LayerNormWeights(gamma: p.g2, beta: p.b2, eps: 1e-12)))
    }

    /// Training's way: separate buffers, caches, optional masks. Returns the output [N, H].
    func runSeparate(_ w: EncoderLayerWeights, x: [Float], attnMask: [Float]?, mask1: [Float]?, mask2: [Float]?) -> [Float] {
        let n = x.count / h, att = attentionOffsets(lengths: lengths, heads: heads).total
        let sizes = [3 * n * h, n * h, n * h, n * h, n * inter, n * inter, n * h, n * h, att, att, n, n, n, n]
        let bufs = sizes.map { UnsafeMutablePointer<Float>.allocate(capacity: max($0, 1)) }
        defer { bufs.forEach { $0.deallocate() } }
        var b = EncoderLayerBuffers(qkv: bufs[0], ctx: bufs[1], r1: bufs[2], x1: bufs[3], pre: bufs[4], act: bufs[5],
                                    r2: bufs[6], out: bufs[7])
        b.probs = bufs[8]; b.mean1 = bufs[10]; b.rstd1 = bufs[11]; b.mean2 = bufs[12]; b.rstd2 = bufs[13]
        return attnMask.withOptionalPointer { am in mask1.withOptionalPointer { m1 in mask2.withOptionalPointer { m2 in
            let drop = EncoderLayerDropout(attention: am.map { ($0, bufs[9]) }, attentionOutput: m1, output: m2)
            x.withUnsafeBufferPointer { xp in
                encoderLayerForward(w, input: xp.baseAddress!, lengths: lengths, heads: heads, buffers: b, dropout: drop,
                                    parallelism: Parallelism(threads: 2))
            }
            return Array(UnsafeBufferPointer(start: bufs[7], count: n * h))
        } } }
    }

    /// Inference's way: x in place (r2 = out = input), x1 = r1, act = pre, no caches.
    func runAliased(_ w: EncoderLayerWeights, x: [Float]) -> [Float] {
        let n = x.count / h
        var xs = x
        var qkv = [Float](repeating: 0, count: 3 * n * h), ctx = [Float](repeating: 0, count: n * h)
        var tmp = [Float](repeating: 0, count: n * h), ff = [Float](repeating: 0, count: n * inter)
        xs.withUnsafeMutableBufferPointer { xp in qkv.withUnsafeMutableBufferPointer { qp in ctx.withUnsafeMutableBufferPointer { cp in
        tmp.withUnsafeMutableBufferPointer { tp in ff.withUnsafeMutableBufferPointer { fp in
            let b = EncoderLayerBuffers(qkv: qp.baseAddress!, ctx: cp.baseAddress!, r1: tp.baseAddress!, x1: tp.baseAddress!,
                                        pre: fp.baseAddress!, act: fp.baseAddress!, r2: xp.baseAddress!, out: xp.baseAddress!)
            encoderLayerForward(w, input: xp.baseAddress!, lengths: lengths, heads: heads, buffers: b, parallelism: .serial)
        } } } } }
        return xs
    }

    func testLayerMatchesNaiveTwinWithAndWithoutDropout() {
        var rng = SplitMix64(seed: 11)
        let p = randomParams(&rng)
        let n = lengths.reduce(0, +), att = attentionOffsets(lengths: lengths, heads: heads).total
        let x = (0..<(n * h)).map { _ in rng.normal() }
        func mask(_ c: Int) -> [Float] { (0..<c).map { _ in rng.uniform() < 0.2 ? 0 : 1.25 } }
        let am = mask(att), m1 = mask(n * h), m2 = mask(n * h)
        withBorrowed(p) { w in
            let plain = runSeparate(w, x: x, attnMask: nil, mask1: nil, mask2: nil)
            assertClose(plain, reference(p, x: x, attnMask: nil, mask1: nil, mask2: nil), tol: 2e-5, "borrowed, no dropout")
            let dropped = runSeparate(w, x: x, attnMask: am, mask1: m1, mask2: m2)
            assertClose(dropped, reference(p, x: x, attnMask: am, mask1: m1, mask2: m2), tol: 2e-5, "borrowed, dropout")
            XCTAssertGreaterThan(zip(plain, dropped).map { abs($0 - $1) }.max()!, 1e-3, "the masks change the output")
            // inference's aliased buffers compute the same floats as training's separate ones
            XCTAssertEqual(runAliased(w, x: x), plain, "aliased vs separate buffers")
        }
        // a packed fp32 copy (the packed fp32 GEMM, not sgemm) stays at fp32 rounding of the twin
        let viaCopy = runAliased(packed(p, .fp32), x: x)
        assertClose(viaCopy, reference(p, x: x, attnMask: nil, mask1: nil, mask2: nil), tol: 2e-5, "packed fp32 copy")
        // bf16 / int8 copies stay near the twin
        assertClose(runAliased(packed(p, .bf16), x: x), reference(p, x: x, attnMask: nil, mask1: nil, mask2: nil), tol: 0.1, "bf16")
        assertClose(runAliased(packed(p, .int8), x: x), reference(p, x: x, attnMask: nil, mask1: nil, mask2: nil), tol: 0.1, "int8")
    }

    /// Inference (act aliases pre) runs the intermediate GEMM with bias and GELU in the kernel's
    /// epilogue; training's separate buffers keep pre and run the bias / GELU pass. Both compute the
    /// same floats in every packed precision, on the SIMD and the portable kernels.
    func testFusedGeluEpilogueEqualsSeparatePassesBitForBit() {
        var rng = SplitMix64(seed: 12)
        let p = randomParams(&rng)
        let n = lengths.reduce(0, +)
        let x = (0..<(n * h)).map { _ in 2 * rng.normal() }
        defer { ReducedPrecisionKernels.forcePortable(nil) }
        for portable in [true, false] {
            ReducedPrecisionKernels.forcePortable(portable)
            for precision in Precision.allCases {
                let w = packed(p, precision)
                let fused = runAliased(w, x: x), separate = runSeparate(w, x: x, attnMask: nil, mask1: nil, mask2: nil)
                XCTAssertEqual(fused.map(\.bitPattern), separate.map(\.bitPattern), "\(precision) portable \(portable)")
            }
        }
    }
}

private extension Optional where Wrapped == [Float] {
    func withOptionalPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let a = self else { return body(nil) }
        return a.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
