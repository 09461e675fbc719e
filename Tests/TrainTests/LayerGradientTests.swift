import Kernels
import Model
import Foundation
import XCTest
import Train

/// Each kernel's backward against central finite differences of its forward (Float32 forward, Double probe
/// sum(out * w); tolerance |analytic - numeric| <= 1e-3 + 1e-2 |numeric|, step 1e-2), and fast kernels against
/// their naive twins (1e-5 relative).
final class LayerGradientTests: XCTestCase {
    func testLayerNormBackward() {
        let n = 3, c = 8
        let x = randomFloats(n * c, seed: 1, scale: 2), gamma = randomFloats(c, seed: 2), beta = randomFloats(c, seed: 3)
        let w = randomFloats(n * c, seed: 4)
        func fwd(_ x: [Float], _ g: [Float], _ b: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: n * c), m = [Float](repeating: 0, count: n), r = m
            layerNormForward(out: &out, mean: &m, rstd: &r, x: x, gamma: g, beta: b, n: n, c: c, eps: 1e-12)
            return out
        }
        var out = [Float](repeating: 0, count: n * c), m = [Float](repeating: 0, count: n), r = m
        layerNormForward(out: &out, mean: &m, rstd: &r, x: x, gamma: gamma, beta: beta, n: n, c: c, eps: 1e-12)
        var dx = [Float](repeating: 0, count: n * c), dg = [Float](repeating: 0, count: c), db = dg
        layerNormBackward(dx: &dx, dgamma: &dg, dbeta: &db, dout: w, x: x, gamma: gamma, mean: m, rstd: r, n: n, c: c)
        checkGradient("ln dx", x: x, analytic: dx) { probe(fwd($0, gamma, beta), w) }
        checkGradient("ln dgamma", x: gamma, analytic: dg) { probe(fwd(x, $0, beta), w) }
        checkGradient("ln dbeta", x: beta, analytic: db) { probe(fwd(x, gamma, $0), w) }
    }

    func testGELUBackward() {
        let x = randomFloats(64, seed: 5, scale: 4), w = randomFloats(64, seed: 6)
        func fwd(_ x: [Float]) -> [Float] { var o = [Float](repeating: 0, count: x.count); geluForward(out: &o, x: x, n: x.count); return o }
        // exact-erf GELU values (not the tanh approximation): gelu(1) = 0.8413447, gelu(-1) = -0.1586553
        let v = fwd([1, -1, 0])
        XCTAssertEqual(v[0], 0.8413447, accuracy: 1e-6); XCTAssertEqual(v[1], -0.1586553, accuracy: 1e-6); XCTAssertEqual(v[2], 0)
        var dx = [Float](repeating: 0, count: 64)
        geluBackward(dx: &dx, dout: w, x: x, n: 64)
        checkGradient("gelu", x: x, analytic: dx, h: 1e-3) { probe(fwd($0), w) }
    }

    /// Large inputs take the 16-lane, multi-core path: compared with libm erf/exp in Double (1e-6 absolute).
    func testGELULargeInputsMatchLibm() {
        let n = 40_003
        let x = randomFloats(n, seed: 50, scale: 6), g = randomFloats(n, seed: 51)
        var out = [Float](repeating: 0, count: n), dx = [Float](repeating: 0.5, count: n)
        geluForward(out: &out, x: x, n: n)
        geluBackward(dx: &dx, dout: g, x: x, n: n)
        var worstF = 0.0, worstB = 0.0
        for i in 0..<n {
            let v = Double(x[i])
            let f = 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
            let d = 0.5 * (1 + erf(v / 2.0.squareRoot())) + v * exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
            worstF = max(worstF, abs(Double(out[i]) - f))
            worstB = max(worstB, abs(Double(dx[i]) - (0.5 + d * Double(g[i]))))
        }
        XCTAssertLessThan(worstF, 1e-5, "forward")
        XCTAssertLessThan(worstB, 1e-5, "backward")
    }

    func testLinearFastMatchesNaiveAndFiniteDifferences() {
        let n = 5, i = 7, o = 4
        let x = randomFloats(n * i, seed: 7), wt = randomFloats(o * i, seed: 8), b = randomFloats(o, seed: 9)
        let w = randomFloats(n * o, seed: 10)
        var fast = [Float](repeating: 0, count: n * o), slow = fast
        linearForward(out: &fast, x: x, weight: wt, bias: b, n: n, inFeatures: i, outFeatures: o)
        naiveLinearForward(out: &slow, x: x, weight: wt, bias: b, n: n, inFeatures: i, outFeatures: o)
        assertClose(fast, slow, atol: 1e-6, rtol: 1e-5, "linear forward")
        var dx = [Float](repeating: 0, count: n * i), dw = [Float](repeating: 0, count: o * i), db = [Float](repeating: 0, count: o)
        var dx2 = dx, dw2 = dw, db2 = db
        linearBackward(dx: &dx, dweight: &dw, dbias: &db, dout: w, x: x, weight: wt, n: n, inFeatures: i, outFeatures: o)
        naiveLinearBackward(dx: &dx2, dweight: &dw2, dbias: &db2, dout: w, x: x, weight: wt, n: n, inFeatures: i, outFeatures: o)
        assertClose(dx, dx2, atol: 1e-6, rtol: 1e-5, "linear dx"); assertClose(dw, dw2, atol: 1e-6, rtol: 1e-5, "linear dw")
        assertClose(db, db2, atol: 1e-6, rtol: 1e-5, "linear db")
        func fwd(_ x: [Float], _ wt: [Float], _ b: [Float]) -> [Float] {
            var out = [Float](repeating: 0, count: n * o)
            naiveLinearForward(out: &out, x: x, weight: wt, bias: b, n: n, inFeatures: i, outFeatures: o)
            return out
        }
        checkGradient("linear dx", x: x, analytic: dx) { probe(fwd($0, wt, b), w) }
        checkGradient("linear dw", x: wt, analytic: dw) { probe(fwd(x, $0, b), w) }
        checkGradient("linear db", x: b, analytic: db) { probe(fwd(x, wt, $0), w) }
    }

    func testGemmTransposesMatchNaive() {
        let m = 5, n = 6, k = 7
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = randomFloats(m * k + 3, seed: 11), b = randomFloats(k * n + 3, seed: 12)
            var c1 = randomFloats(m * n, seed: 13), c2 = c1
            sgemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: ta ? m : k, b: b, ldb: tb ? k : n,
                      beta: 2, c: &c1, ldc: n)
            // reference by definition
            for r in 0..<m { for c in 0..<n {
                var s: Float = 0
                for p in 0..<k { s += (ta ? a[p * m + r] : a[r * k + p]) * (tb ? b[c * k + p] : b[p * n + c]) }
                c2[r * n + c] = 0.5 * s + 2 * c2[r * n + c]
            } }
            assertClose(c1, c2, atol: 1e-5, rtol: 1e-5, "gemm ta=\(ta) tb=\(tb)")
        }
    }

    /// Packed fast attention vs the padded naive twin, and its backward against finite differences.
    func testAttentionFastMatchesNaiveAndFiniteDifferences() {
        let lengths = [5, 2, 4], hidden = 8, heads = 2, seq = 5
        let n = lengths.reduce(0, +)
        let qkv = randomFloats(n * 3 * hidden, seed: 14, scale: 1.5)
        let w = randomFloats(n * hidden, seed: 15)
        let att = attentionOffsets(lengths: lengths, heads: heads).total
        func fwd(_ qkv: [Float]) -> [Float] {
            var ctx = [Float](repeating: 0, count: n * hidden), p = [Float](repeating: 0, count: att)
            attentionForward(ctx: &ctx, probs: &p, dropped: nil, qkv: qkv, lengths: lengths, dropMask: nil, hidden: hidden, heads: heads)
            return ctx
        }
        var ctx = [Float](repeating: 0, count: n * hidden), probs = [Float](repeating: 0, count: att)
        attentionForward(ctx: &ctx, probs: &probs, dropped: nil, qkv: qkv, lengths: lengths, dropMask: nil, hidden: hidden, heads: heads)
        var dqkv = [Float](repeating: 0, count: qkv.count)
        attentionBackward(dqkv: &dqkv, dctx: w, qkv: qkv, probs: probs, dropped: nil, dropMask: nil, lengths: lengths,
                          hidden: hidden, heads: heads)
        // padded layout for the naive twin
        let offs = tokenOffsets(lengths: lengths)
        var pq = [Float](repeating: 0, count: lengths.count * seq * 3 * hidden), pw = [Float](repeating: 0, count: lengths.count * seq * hidden)
        for (b, l) in lengths.enumerated() { for t in 0..<l {
            for c in 0..<(3 * hidden) { pq[(b * seq + t) * 3 * hidden + c] = qkv[(offs[b] + t) * 3 * hidden + c] }
            for c in 0..<hidden { pw[(b * seq + t) * hidden + c] = w[(offs[b] + t) * hidden + c] }
        } }
        var nctx = [Float](repeating: 0, count: pw.count), nprobs = [Float](repeating: 0, count: lengths.count * heads * seq * seq)
        naiveAttentionForward(ctx: &nctx, probs: &nprobs, qkv: pq, lengths: lengths, seq: seq, hidden: hidden, heads: heads)
        var ndq = [Float](repeating: 0, count: pq.count)
        naiveAttentionBackward(dqkv: &ndq, dctx: pw, qkv: pq, probs: nprobs, lengths: lengths, seq: seq, hidden: hidden, heads: heads)
        var packedCtx = [Float](), packedDq = [Float]()
        for (b, l) in lengths.enumerated() { for t in 0..<l {
            let row: Int = b * seq + t
            let h3: Int = 3 * hidden
            packedCtx.append(contentsOf: nctx[(row * hidden)..<((row + 1) * hidden)])
            packedDq.append(contentsOf: ndq[(row * h3)..<((row + 1) * h3)])
        } }
        assertClose(ctx, packedCtx, atol: 1e-6, rtol: 1e-5, "attention ctx vs naive")
        assertClose(dqkv, packedDq, atol: 1e-6, rtol: 1e-5, "attention dqkv vs naive")
        checkGradient("attention dqkv", x: qkv, analytic: dqkv, h: 1e-3) { probe(fwd($0), w) }
    }

    /// A batch big enough for the multi-core path gives exactly what each sequence gives alone (inline path).
    func testAttentionParallelPathEqualsPerSequence() {
        let lengths = [128, 100, 128, 90, 128], hidden = 64, heads = 4
        let n = lengths.reduce(0, +), att = attentionOffsets(lengths: lengths, heads: heads).total
        let qkv = randomFloats(n * 3 * hidden, seed: 60), w = randomFloats(n * hidden, seed: 61)
        var ctx = [Float](repeating: 0, count: n * hidden), probs = [Float](repeating: 0, count: att)
        attentionForward(ctx: &ctx, probs: &probs, dropped: nil, qkv: qkv, lengths: lengths, dropMask: nil, hidden: hidden, heads: heads)
        var dq = [Float](repeating: 0, count: qkv.count)
        attentionBackward(dqkv: &dq, dctx: w, qkv: qkv, probs: probs, dropped: nil, dropMask: nil, lengths: lengths, hidden: hidden, heads: heads)
        var oneCtx = [Float](), oneDq = [Float]()
        var t = 0
        for l in lengths {
            let q = Array(qkv[(t * 3 * hidden)..<((t + l) * 3 * hidden)]), g = Array(w[(t * hidden)..<((t + l) * hidden)])
            var c = [Float](repeating: 0, count: l * hidden), p = [Float](repeating: 0, count: heads * l * l)
            attentionForward(ctx: &c, probs: &p, dropped: nil, qkv: q, lengths: [l], dropMask: nil, hidden: hidden, heads: heads)
            var d = [Float](repeating: 0, count: q.count)
            attentionBackward(dqkv: &d, dctx: g, qkv: q, probs: p, dropped: nil, dropMask: nil, lengths: [l], hidden: hidden, heads: heads)
            oneCtx += c; oneDq += d
            t += l
        }
        // equal up to BLAS threading's rounding
        assertClose(ctx, oneCtx, atol: 1e-6, rtol: 1e-6, "parallel ctx")
        assertClose(dq, oneDq, atol: 1e-6, rtol: 1e-6, "parallel dqkv")
    }

    /// With a fixed dropout mask the attention backward matches finite differences too.
    func testAttentionDropoutBackward() {
        let lengths = [3, 4], hidden = 4, heads = 2
        let n = 7, att = attentionOffsets(lengths: lengths, heads: heads).total
        var rng = SplitMix64(seed: 3)
        var mask = [Float](repeating: 0, count: att)
        makeDropoutMask(&mask, count: att, p: 0.3, rng: &rng)
        XCTAssertTrue(mask.contains(0) && mask.contains(1 / 0.7), "mask has both dropped and kept entries")
        let qkv = randomFloats(n * 3 * hidden, seed: 16), w = randomFloats(n * hidden, seed: 17)
        func run(_ qkv: [Float]) -> (ctx: [Float], probs: [Float], dropped: [Float]) {
            var ctx = [Float](repeating: 0, count: n * hidden), p = [Float](repeating: 0, count: att), d = p
            attentionForward(ctx: &ctx, probs: &p, dropped: &d, qkv: qkv, lengths: lengths, dropMask: mask, hidden: hidden, heads: heads)
            return (ctx, p, d)
        }
        let r = run(qkv)
        var dq = [Float](repeating: 0, count: qkv.count)
        attentionBackward(dqkv: &dq, dctx: w, qkv: qkv, probs: r.probs, dropped: r.dropped, dropMask: mask,
                          lengths: lengths, hidden: hidden, heads: heads)
        checkGradient("attention+dropout", x: qkv, analytic: dq, h: 1e-3) { probe(run($0).ctx, w) }
    }

    func testEmbeddingsScatter() {
        let v = 6, p = 5, t = 2, h = 3
        // ids 9 and -1 and type 3 lie outside the tables: forward and backward both use the clamped rows (5, 0, 1)
        let ids: [Int32] = [1, 4, 1, 0, 2, 9, -1], types: [Int32] = [0, 0, 1, 0, 1, 3, 0], pos: [Int32] = [0, 1, 2, 0, 1, 2, 3]
        let wte = randomFloats(v * h, seed: 18), wpe = randomFloats(p * h, seed: 19), wtt = randomFloats(t * h, seed: 20)
        let w = randomFloats(ids.count * h, seed: 21)
        func fwd(_ a: [Float], _ b: [Float], _ c: [Float]) -> [Float] {
            var o = [Float](repeating: 0, count: ids.count * h)
            embeddingsForward(out: &o, ids: ids, types: types, positions: pos, wte: a, vocab: v, wpe: b, wtt: c, typeVocab: t, hidden: h)
            return o
        }
        var da = [Float](repeating: 0, count: wte.count), dp = [Float](repeating: 0, count: wpe.count), dt = [Float](repeating: 0, count: wtt.count)
        embeddingsBackward(dwte: &da, dwpe: &dp, dwtt: &dt, dout: w, ids: ids, types: types, positions: pos,
                           vocab: v, typeVocab: t, hidden: h)
        checkGradient("wte", x: wte, analytic: da) { probe(fwd($0, wpe, wtt), w) }
        checkGradient("wpe", x: wpe, analytic: dp) { probe(fwd(wte, $0, wtt), w) }
        checkGradient("wtt", x: wtt, analytic: dt) { probe(fwd(wte, wpe, $0), w) }
    }

    func testPoolingNormalizeTanh() {
        let lengths = [3, 2], d = 4, n = 5
        let x = randomFloats(n * d, seed: 22), weights: [Float] = [0, 1, 1, 1, 0]   // e.g. special tokens left out
        let w = randomFloats(2 * d, seed: 23)
        func mean(_ x: [Float]) -> [Float] { var o = [Float](repeating: 0, count: 2 * d); meanPoolForward(out: &o, hidden: x, weights: weights, lengths: lengths, dim: d); return o }
        let m = mean(x)
        XCTAssertEqual(m[0], (x[4] + x[8]) / 2, accuracy: 1e-6, "first sequence averages tokens 1 and 2 only")
        var dx = [Float](repeating: 0, count: n * d)
        meanPoolBackward(dhidden: &dx, dout: w, weights: weights, lengths: lengths, dim: d)
        checkGradient("mean pool", x: x, analytic: dx) { probe(mean($0), w) }

        func cls(_ x: [Float]) -> [Float] { var o = [Float](repeating: 0, count: 2 * d); clsPoolForward(out: &o, hidden: x, lengths: lengths, dim: d); return o }
        XCTAssertEqual(Array(cls(x)[d..<(2 * d)]), Array(x[(3 * d)..<(4 * d)]), "CLS of sequence 1 is token 3")
        var dc = [Float](repeating: 0, count: n * d)
        clsPoolBackward(dhidden: &dc, dout: w, lengths: lengths, dim: d)
        checkGradient("cls pool", x: x, analytic: dc) { probe(cls($0), w) }

        func norm(_ x: [Float]) -> [Float] { var o = [Float](repeating: 0, count: x.count), r = [Float](repeating: 0, count: 5); l2NormalizeForward(out: &o, norms: &r, x: x, rows: 5, dim: d); return o }
        var y = [Float](repeating: 0, count: x.count), norms = [Float](repeating: 0, count: 5), dn = y
        l2NormalizeForward(out: &y, norms: &norms, x: x, rows: 5, dim: d)
        let w2 = randomFloats(x.count, seed: 24)
        l2NormalizeBackward(dx: &dn, dout: w2, out: y, norms: norms, rows: 5, dim: d)
        checkGradient("l2 normalize", x: x, analytic: dn, h: 1e-3) { probe(norm($0), w2) }

        func th(_ x: [Float]) -> [Float] { var o = [Float](repeating: 0, count: x.count); tanhForward(out: &o, x: x, n: x.count); return o }
        var dtn = [Float](repeating: 0, count: x.count)
        tanhBackward(dx: &dtn, dout: w2, out: th(x), n: x.count)
        checkGradient("tanh", x: x, analytic: dtn, h: 1e-3) { probe(th($0), w2) }
    }

    /// Whole model in TRAINING mode (dropout on) with the same seed for every forward: the dropout masks repeat,
    /// so backward must match finite differences of the dropped-out function.
    func testWholeModelWithDropoutMatchesFiniteDifferences() {
        let shape = BertShape(vocabSize: 12, maxPositions: 6, typeVocabSize: 2, hidden: 8, layers: 2, heads: 2,
                              intermediate: 12, layerNormEps: 1e-12, hasClassifier: true, numLabels: 1)
        let model = TrainableBert(shape: shape)
        var rng = SplitMix64(seed: 5)
        model.initialize(rng: &rng, std: 0.5)
        model.hiddenDropout = 0.2; model.attentionDropout = 0.2
        let batch = PackedBatch([(ids: [1, 5, 7, 2], types: [0, 0, 1, 1]), (ids: [1, 3, 2], types: [0, 0, 0])])
        let h = shape.hidden
        let base = model.parameterArray
        func loss(_ p: [Float], backward: Bool) -> Double {
            model.parameterArray = p
            var r = SplitMix64(seed: 99)
            let hidden = model.forward(batch, training: true, rng: &r)
            var pooled = [Float](repeating: 0, count: 2 * h)
            meanPoolForward(out: &pooled, hidden: hidden, weights: [Float](repeating: 1, count: 7), lengths: batch.lengths, dim: h)
            let logits = Array(UnsafeBufferPointer(start: model.classifierForward(hidden: hidden, training: true, rng: &r), count: 2))
            let wp = randomFloats(2 * h, seed: 31)
            let bce = bceWithLogitsLoss(logits: logits, labels: [1, 0])
            if backward {
                model.zeroGradients()
                let dh = model.hiddenGradient()
                meanPoolBackward(dhidden: dh, dout: wp, weights: [Float](repeating: 1, count: 7), lengths: batch.lengths, dim: h)
                model.classifierBackward(dLogits: bce.grads[0], dHidden: dh)
                model.backward(dHidden: dh)
            }
            return probe(pooled, wp) + bce.loss
        }
        _ = loss(base, backward: true)
        let g = model.gradientArray
        checkGradient("model+dropout", x: base, analytic: g, h: 1e-2, atol: 2e-3, rtol: 2e-2, maxChecks: 300) { loss($0, backward: false) }
    }
}
