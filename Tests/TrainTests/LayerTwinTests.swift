import Foundation
import Kernels
import Model
import Train
import XCTest

// Naive twins in Double, written here, for the training layers' forward AND backward: LayerNorm, GELU, attention
// (whose backward holds the softmax backward) and Linear. Unlike LayerGradientTests (finite differences and the
// library's own naive twins in Float), these are independent of Sources/Train and exact to Double rounding, on
// edge shapes (one row, one column, one-token sequences, odd widths and head sizes) and large values.
// Every backward ACCUMULATES, so each starts from a non-zero gradient buffer and the twin adds to it.

/// LayerNorm forward and backward of one row in Double. Returns (out, dx, dgamma, dbeta) for upstream `dout`.
private func layerNormTwin(_ x: [Double], _ g: [Double], _ b: [Double], _ dout: [Double], eps: Double)
    -> (out: [Double], dx: [Double], dg: [Double], db: [Double]) {
    let c = Double(x.count)
    let mean = x.reduce(0, +) / c
    let v = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / c
    let rstd = 1 / (v + eps).squareRoot()
    let norm = x.map { ($0 - mean) * rstd }
    let out = norm.indices.map { norm[$0] * g[$0] + b[$0] }
    let dnorm = norm.indices.map { g[$0] * dout[$0] }
    let m1 = dnorm.reduce(0, +) / c
    let m2 = norm.indices.reduce(0.0) { $0 + dnorm[$1] * norm[$1] } / c
    let dx = norm.indices.map { (dnorm[$0] - m1 - norm[$0] * m2) * rstd }
    return (out, dx, norm.indices.map { norm[$0] * dout[$0] }, dout)
}

private func d(_ a: [Float]) -> [Double] { a.map(Double.init) }

/// max |got - want| / (1 + |want|) over all entries.
private func worstRelative(_ got: [Float], _ want: [Double]) -> Double {
    precondition(got.count == want.count)
    return zip(got, want).map { abs(Double($0) - $1) / (1 + abs($1)) }.max() ?? 0
}

final class LayerTwinTests: XCTestCase {
    /// layerNormForward / layerNormBackward against the Double twin: 2e-5 relative on ordinary rows; rows whose
    /// mean is 100x their spread lose about 100 ulps of the spread in the float sums (mean, x - mean), so 1e-3
    /// there. One column: out = beta, dx = 0, dgamma = 0 exactly.
    func testLayerNormForwardBackwardAgainstDoubleTwin() {
        var seed: UInt64 = 300
        for (n, c) in [(1, 1), (1, 7), (3, 17), (5, 384), (2, 385)] {
            for offset: Float in [0, 100] {
                seed += 10
                let x = randomFloats(n * c, seed: seed, scale: 2).map { $0 + offset }
                let g = randomFloats(c, seed: seed + 1, scale: 1.5), b = randomFloats(c, seed: seed + 2)
                let dout = randomFloats(n * c, seed: seed + 3, scale: 3)
                let dx0 = randomFloats(n * c, seed: seed + 4), dg0 = randomFloats(c, seed: seed + 5), db0 = randomFloats(c, seed: seed + 6)
                var out = [Float](repeating: .nan, count: n * c), mean = [Float](repeating: 0, count: n), rstd = mean
                layerNormForward(out: &out, mean: &mean, rstd: &rstd, x: x, gamma: g, beta: b, n: n, c: c, eps: 1e-12)
                var dx = dx0, dg = dg0, db = db0
                layerNormBackward(dx: &dx, dgamma: &dg, dbeta: &db, dout: dout, x: x, gamma: g, mean: mean, rstd: rstd, n: n, c: c)
                var wOut = [Double](), wDx = [Double](), wDg = d(dg0), wDb = d(db0)
                for r in 0..<n {
                    let rows = (r * c)..<((r + 1) * c)
                    let t = layerNormTwin(d(Array(x[rows])), d(g), d(b), d(Array(dout[rows])), eps: 1e-12)
                    wOut += t.out
                    wDx += zip(dx0[rows], t.dx).map { Double($0) + $1 }
                    for i in 0..<c { wDg[i] += t.dg[i]; wDb[i] += t.db[i] }
                }
                if c == 1 {
                    XCTAssertEqual(out, (0..<n).map { _ in b[0] }, "one column: out = beta")
                    XCTAssertEqual(dx, dx0, "one column: no gradient to x")
                    XCTAssertEqual(dg, dg0, "one column: no gradient to gamma")
                }
                let tol = offset == 0 ? 2e-5 : 1e-3
                let label = "LayerNorm [\(n), \(c)] offset \(offset)"
                XCTAssertLessThanOrEqual(worstRelative(out, wOut), tol, "\(label) out")
                XCTAssertLessThanOrEqual(worstRelative(dx, wDx), tol, "\(label) dx")
                XCTAssertLessThanOrEqual(worstRelative(dg, wDg), tol, "\(label) dgamma")
                XCTAssertLessThanOrEqual(worstRelative(db, wDb), 1e-6, "\(label) dbeta")
            }
        }
    }

    /// geluForward / geluBackward against Double: forward |error| <= 1e-6 max(1, |x|), backward
    /// |error| <= 2e-6 (1 + |dx|). Sizes below and above the scalar cut-off (16,384) and the multi-core split
    /// (32,768 per worker); large inputs where erf saturates (gelu' = 1 or 0).
    func testGeluForwardBackwardAgainstDoubleTwin() {
        for n in [1, 7, 17, 16_383, 16_385, 70_001] {
            var x = randomFloats(n, seed: UInt64(n), scale: 6)
            let big: [Float] = [40, -40, 1e3, -1e3, 0, 3.99, -4.01]
            for (i, v) in big.enumerated() where i < n { x[(i * 9973) % n] = v }
            let dout = randomFloats(n, seed: UInt64(n) + 1, scale: 2), dx0 = randomFloats(n, seed: UInt64(n) + 2)
            var out = [Float](repeating: .nan, count: n), dx = dx0
            geluForward(out: &out, x: x, n: n)
            geluBackward(dx: &dx, dout: dout, x: x, n: n)
            var worstF = 0.0, worstB = 0.0, at = 0
            for i in 0..<n {
                let v = Double(x[i])
                let f = 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
                let gp = 0.5 * (1 + erf(v / 2.0.squareRoot())) + v * exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
                let b = Double(dx0[i]) + gp * Double(dout[i])
                worstF = max(worstF, abs(Double(out[i]) - f) / max(1, abs(v)))
                let eb = abs(Double(dx[i]) - b) / (1 + abs(b))
                if eb > worstB { worstB = eb; at = i }
            }
            XCTAssertLessThanOrEqual(worstF, 1e-6, "gelu forward n \(n)")
            XCTAssertLessThanOrEqual(worstB, 2e-6, "gelu backward n \(n) worst at x = \(x[at])")
        }
    }

    /// attentionForward / attentionBackward (scores, softmax, softmax backward, the two products) against a
    /// Double twin per sequence and head: |error| <= 2e-5 (1 + |want|). Covers one-token sequences (probability 1,
    /// zero softmax gradient), odd head sizes (hidden 15, 3 heads of 5) and peaked softmax (qkv scale 4).
    func testAttentionForwardBackwardAgainstDoubleTwin() {
        for (lengths, hidden, heads, scale) in [([1], 8, 2, Float(1)), ([1, 5, 3], 15, 3, 1), ([17, 1, 9], 16, 4, 4),
                                                ([33, 2], 12, 1, 2)] {
            let n = lengths.reduce(0, +), h3 = 3 * hidden, hd = hidden / heads
            let qkv = randomFloats(n * h3, seed: UInt64(n * hidden), scale: scale)
            let dctx = randomFloats(n * hidden, seed: UInt64(n * hidden + 1))
            let dq0 = randomFloats(n * h3, seed: UInt64(n * hidden + 2))
            let att = attentionOffsets(lengths: lengths, heads: heads).total
            var ctx = [Float](repeating: .nan, count: n * hidden), probs = [Float](repeating: .nan, count: att)
            attentionForward(ctx: &ctx, probs: &probs, dropped: nil, qkv: qkv, lengths: lengths, dropMask: nil, hidden: hidden, heads: heads)
            var dq = dq0
            attentionBackward(dqkv: &dq, dctx: dctx, qkv: qkv, probs: probs, dropped: nil, dropMask: nil,
                              lengths: lengths, hidden: hidden, heads: heads)
            var wCtx = [Double](repeating: 0, count: n * hidden), wDq = d(dq0)
            let s = 1 / Double(hd).squareRoot()
            var t0 = 0
            for len in lengths {
                for head in 0..<heads {
                    func q(_ i: Int, _ c: Int) -> Double { Double(qkv[(t0 + i) * h3 + head * hd + c]) }
                    func k(_ i: Int, _ c: Int) -> Double { Double(qkv[(t0 + i) * h3 + hidden + head * hd + c]) }
                    func v(_ i: Int, _ c: Int) -> Double { Double(qkv[(t0 + i) * h3 + 2 * hidden + head * hd + c]) }
                    func g(_ i: Int, _ c: Int) -> Double { Double(dctx[(t0 + i) * hidden + head * hd + c]) }
                    for i in 0..<len {
                        let sc = (0..<len).map { j in s * (0..<hd).reduce(0.0) { $0 + q(i, $1) * k(j, $1) } }
                        let mx = sc.max()!
                        let e = sc.map { exp($0 - mx) }, z = e.reduce(0, +)
                        let p = e.map { $0 / z }
                        for c in 0..<hd { wCtx[(t0 + i) * hidden + head * hd + c] = (0..<len).reduce(0.0) { $0 + p[$1] * v($1, c) } }
                        // dP[j] = dctx_i . v_j; dS = P (dP - sum P dP); dq_i += s dS K; dk_j += s dS_j q_i; dv_j += P_j dctx_i
                        let dp = (0..<len).map { j in (0..<hd).reduce(0.0) { $0 + g(i, $1) * v(j, $1) } }
                        let dot = (0..<len).reduce(0.0) { $0 + p[$1] * dp[$1] }
                        let ds = (0..<len).map { p[$0] * (dp[$0] - dot) }
                        for c in 0..<hd {
                            wDq[(t0 + i) * h3 + head * hd + c] += s * (0..<len).reduce(0.0) { $0 + ds[$1] * k($1, c) }
                            for j in 0..<len {
                                wDq[(t0 + j) * h3 + hidden + head * hd + c] += s * ds[j] * q(i, c)
                                wDq[(t0 + j) * h3 + 2 * hidden + head * hd + c] += p[j] * g(i, c)
                            }
                        }
                    }
                }
                t0 += len
            }
            let label = "attention lengths \(lengths) hidden \(hidden) heads \(heads) scale \(scale)"
            XCTAssertLessThanOrEqual(worstRelative(ctx, wCtx), 2e-5, "\(label) ctx")
            XCTAssertLessThanOrEqual(worstRelative(dq, wDq), 2e-5, "\(label) dqkv")
        }
    }

    /// linearForward / linearBackward against Double: |error| <= 1e-5 (1 + |want|), with and without bias,
    /// one row, K = 1 and odd sizes.
    func testLinearForwardBackwardAgainstDoubleTwin() {
        for (n, i, o) in [(1, 1, 1), (1, 33, 17), (7, 385, 33), (16, 64, 3)] {
            for withBias in [true, false] {
                let seed = UInt64(n * 1000 + i * 10 + o)
                let x = randomFloats(n * i, seed: seed), w = randomFloats(o * i, seed: seed + 1), b = randomFloats(o, seed: seed + 2)
                let dout = randomFloats(n * o, seed: seed + 3)
                let dx0 = randomFloats(n * i, seed: seed + 4), dw0 = randomFloats(o * i, seed: seed + 5), db0 = randomFloats(o, seed: seed + 6)
                var out = [Float](repeating: .nan, count: n * o)
                b.withUnsafeBufferPointer { bp in
                    linearForward(out: &out, x: x, weight: w, bias: withBias ? bp.baseAddress! : nil, n: n, inFeatures: i, outFeatures: o)
                }
                var dx = dx0, dw = dw0, db = db0
                db.withUnsafeMutableBufferPointer { dbp in
                    linearBackward(dx: &dx, dweight: &dw, dbias: withBias ? dbp.baseAddress! : nil, dout: dout, x: x, weight: w,
                                   n: n, inFeatures: i, outFeatures: o)
                }
                var wOut = [Double](repeating: 0, count: n * o), wDx = d(dx0), wDw = d(dw0), wDb = d(db0)
                for r in 0..<n {
                    for j in 0..<o {
                        wOut[r * o + j] = (0..<i).reduce(withBias ? Double(b[j]) : 0) { $0 + Double(x[r * i + $1]) * Double(w[j * i + $1]) }
                        let g = Double(dout[r * o + j])
                        if withBias { wDb[j] += g }
                        for p in 0..<i {
                            wDx[r * i + p] += g * Double(w[j * i + p])
                            wDw[j * i + p] += g * Double(x[r * i + p])
                        }
                    }
                }
                let label = "linear [\(n), \(i)] -> \(o) bias \(withBias)"
                XCTAssertLessThanOrEqual(worstRelative(out, wOut), 1e-5, "\(label) out")
                XCTAssertLessThanOrEqual(worstRelative(dx, wDx), 1e-5, "\(label) dx")
                XCTAssertLessThanOrEqual(worstRelative(dw, wDw), 1e-5, "\(label) dweight")
                XCTAssertLessThanOrEqual(worstRelative(db, wDb), 1e-6, "\(label) dbias")
                if !withBias { XCTAssertEqual(db, db0, "\(label): no bias, dbias untouched") }
            }
        }
    }

    /// Pooling heads and embeddings against Double: mean pooling (weights 0/1, a sequence with no counted token
    /// pools to zero), CLS pooling, L2 normalisation (a zero row stays zero: norm clamped at 1e-12), tanh, and
    /// the embeddings sum with its scatter backward (a token id repeated, so gradients add up). Forward and
    /// backward within 1e-6 (1 + |want|); every backward accumulates onto a non-zero buffer.
    func testPoolingNormalizeTanhEmbeddingsAgainstDoubleTwin() {
        let lengths = [1, 4, 3, 2], dim = 7
        let n = lengths.reduce(0, +), b = lengths.count
        var hidden = randomFloats(n * dim, seed: 900, scale: 3)
        let weights: [Float] = [1, 0, 1, 1, 1, 1, 1, 0, 0, 0]   // sequence 3 (tokens 8, 9) counts no token
        for i in 0..<dim { hidden[5 * dim + i] = 0 }             // one zero row for the L2 normalisation
        let dout = randomFloats(b * dim, seed: 901), dh0 = randomFloats(n * dim, seed: 902)
        let offs = tokenOffsets(lengths: lengths)

        var pooled = [Float](repeating: .nan, count: b * dim), dh = dh0
        meanPoolForward(out: &pooled, hidden: hidden, weights: weights, lengths: lengths, dim: dim)
        meanPoolBackward(dhidden: &dh, dout: dout, weights: weights, lengths: lengths, dim: dim)
        var wPool = [Double](repeating: 0, count: b * dim), wDh = d(dh0)
        for s in 0..<b {
            let toks = offs[s]..<(offs[s] + lengths[s])
            let count = max(toks.reduce(0.0) { $0 + Double(weights[$1]) }, 1e-9)
            for t in toks {
                for i in 0..<dim {
                    wPool[s * dim + i] += Double(weights[t]) * Double(hidden[t * dim + i]) / count
                    wDh[t * dim + i] += Double(weights[t]) / count * Double(dout[s * dim + i])
                }
            }
        }
        XCTAssertLessThanOrEqual(worstRelative(pooled, wPool), 1e-6, "mean pool")
        XCTAssertLessThanOrEqual(worstRelative(dh, wDh), 1e-6, "mean pool backward")
        XCTAssertEqual(Array(pooled[(3 * dim)..<(4 * dim)]), [Float](repeating: 0, count: dim), "no counted token: zero")

        var cls = [Float](repeating: .nan, count: b * dim), dc = dh0
        clsPoolForward(out: &cls, hidden: hidden, lengths: lengths, dim: dim)
        clsPoolBackward(dhidden: &dc, dout: dout, lengths: lengths, dim: dim)
        var wDc = d(dh0)
        for s in 0..<b { for i in 0..<dim { wDc[offs[s] * dim + i] += Double(dout[s * dim + i]) } }
        XCTAssertEqual(cls, (0..<b).flatMap { Array(hidden[(offs[$0] * dim)..<((offs[$0] + 1) * dim)]) }, "CLS = first token")
        XCTAssertLessThanOrEqual(worstRelative(dc, wDc), 1e-6, "cls pool backward")

        let g = randomFloats(n * dim, seed: 903)
        var y = [Float](repeating: .nan, count: n * dim), norms = [Float](repeating: 0, count: n), dx = dh0
        l2NormalizeForward(out: &y, norms: &norms, x: hidden, rows: n, dim: dim)
        l2NormalizeBackward(dx: &dx, dout: g, out: y, norms: norms, rows: n, dim: dim)
        var wY = [Double](), wDx = d(dh0)
        for r in 0..<n {
            let row = (0..<dim).map { Double(hidden[r * dim + $0]) }
            let norm = max(row.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            let yr = row.map { $0 / norm }
            wY += yr
            let dot = (0..<dim).reduce(0.0) { $0 + yr[$1] * Double(g[r * dim + $1]) }
            for i in 0..<dim { wDx[r * dim + i] += (Double(g[r * dim + i]) - yr[i] * dot) / norm }
        }
        XCTAssertLessThanOrEqual(worstRelative(y, wY), 1e-6, "l2 normalize")
        XCTAssertEqual(Array(y[(5 * dim)..<(6 * dim)]), [Float](repeating: 0, count: dim), "a zero row stays zero")
        // the zero row's gradient is g / 1e-12 (huge): compared relatively like the rest
        XCTAssertLessThanOrEqual(worstRelative(dx, wDx), 1e-6, "l2 normalize backward")

        let big = hidden.map { $0 * 4 }
        var th = [Float](repeating: .nan, count: big.count), dt = dh0
        tanhForward(out: &th, x: big, n: big.count)
        tanhBackward(dx: &dt, dout: g, out: th, n: big.count)
        XCTAssertLessThanOrEqual(worstRelative(th, big.map { tanh(Double($0)) }), 1e-6, "tanh")
        XCTAssertLessThanOrEqual(worstRelative(dt, (0..<big.count).map { Double(dh0[$0]) + (1 - tanh(Double(big[$0])) * tanh(Double(big[$0]))) * Double(g[$0]) }),
                                 1e-6, "tanh backward")

        let (v, p, t, h) = (6, 5, 2, 9)
        let ids: [Int32] = [3, 0, 3, 5, 3], types: [Int32] = [0, 1, 1, 0, 0], pos: [Int32] = [0, 1, 2, 0, 4]
        let wte = randomFloats(v * h, seed: 904), wpe = randomFloats(p * h, seed: 905), wtt = randomFloats(t * h, seed: 906)
        let de = randomFloats(ids.count * h, seed: 907)
        var e = [Float](repeating: .nan, count: ids.count * h)
        embeddingsForward(out: &e, ids: ids, types: types, positions: pos, wte: wte, vocab: v, wpe: wpe, wtt: wtt, typeVocab: t, hidden: h)
        var dwte = randomFloats(v * h, seed: 908), dwpe = randomFloats(p * h, seed: 909), dwtt = randomFloats(t * h, seed: 910)
        var wWte = d(dwte), wWpe = d(dwpe), wWtt = d(dwtt), wE = [Double]()
        embeddingsBackward(dwte: &dwte, dwpe: &dwpe, dwtt: &dwtt, dout: de, ids: ids, types: types, positions: pos, vocab: v, typeVocab: t, hidden: h)
        for (k, id) in ids.enumerated() {
            let (a, q, c) = (Int(id), Int(pos[k]), Int(types[k]))
            for i in 0..<h {
                wE.append(Double(wte[a * h + i]) + Double(wpe[q * h + i]) + Double(wtt[c * h + i]))
                wWte[a * h + i] += Double(de[k * h + i]); wWpe[q * h + i] += Double(de[k * h + i]); wWtt[c * h + i] += Double(de[k * h + i])
            }
        }
        XCTAssertLessThanOrEqual(worstRelative(e, wE), 1e-6, "embeddings")
        XCTAssertLessThanOrEqual(worstRelative(dwte, wWte), 1e-6, "embeddings dwte (id 3 three times)")
        XCTAssertLessThanOrEqual(worstRelative(dwpe, wWpe), 1e-6, "embeddings dwpe")
        XCTAssertLessThanOrEqual(worstRelative(dwtt, wWtt), 1e-6, "embeddings dwtt")
    }
}
