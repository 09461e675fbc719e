import Foundation
import Kernels
import Model
import XCTest

/// The shared embedding stage (`embeddingStageForward`) and cross-encoder head (`classifierHeadForward`)
/// against naive double-precision twins, with and without training's cache and dropout, and the two
/// ways each is fed (inference's owned arrays / packed copies, training's borrowed pointers) giving the
/// same floats.
final class EmbeddingStageAndHeadTests: XCTestCase {
    let h = 24, vocab = 11, positions = 9, typeVocab = 2

    func random(_ n: Int, _ s: Float, _ m: Float = 0, _ rng: inout SplitMix64) -> [Float] {
        (0..<n).map { _ in m + s * rng.normal() }
    }

    /// Naive twin of the embedding stage in Double: clamped rows, two-pass biased variance.
    func embeddingReference(_ e: BertEmbeddings, ids: [Int32], types: [Int32], positions: [Int32]) -> [Double] {
        var out = [Double](repeating: 0, count: ids.count * h)
        for r in 0..<ids.count {
            let wi = min(max(Int(ids[r]), 0), vocab - 1), ti = min(max(Int(types[r]), 0), typeVocab - 1)
            let pi = Int(positions[r])
            let x = (0..<h).map { j in
                Double(e.wordEmbeddings[wi * h + j]) + Double(e.positionEmbeddings[pi * h + j])
                    + Double(e.tokenTypeEmbeddings[ti * h + j])
            }
            let mean = x.reduce(0, +) / Double(h)
            let variance = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(h)
            let rstd = 1 / (variance + Double(e.layerNorm.eps)).squareRoot()
            for j in 0..<h {
                out[r * h + j] = (x[j] - mean) * rstd * Double(e.layerNorm.gamma[j]) + Double(e.layerNorm.beta[j])
            }
        }
        return out
    }

    func testEmbeddingStageMatchesNaiveTwinWithAndWithoutCacheAndDropout() {
        var rng = SplitMix64(seed: 7)
        let e = BertEmbeddings(wordEmbeddings: random(vocab * h, 0.5, 0, &rng),
                               positionEmbeddings: random(positions * h, 0.5, 0, &rng),
                               tokenTypeEmbeddings: random(typeVocab * h, 0.5, 0, &rng),
                               layerNorm: LayerNormWeights(gamma: random(h, 0.1, 1, &rng), beta: random(h, 0.1, 0, &rng), eps: 1e-12))
        // two sequences (5 and 3 tokens); ids and types outside their tables are clamped
        let ids: [Int32] = [2, 10, -3, 4, 40, 0, 7, 3]
        let types: [Int32] = [0, 0, 1, 1, 0, 5, -1, 1]
        let pos: [Int32] = [0, 1, 2, 3, 4, 0, 1, 2]
        let n = ids.count, nh = n * h
        let want = embeddingReference(e, ids: ids, types: types, positions: pos)

        var plain = [Float](repeating: .nan, count: nh)
        var cached = [Float](repeating: .nan, count: nh), sum = [Float](repeating: .nan, count: nh)
        var mean = [Float](repeating: .nan, count: n), rstd = [Float](repeating: .nan, count: n)
        var dropped = [Float](repeating: .nan, count: nh)
        let mask: [Float] = (0..<nh).map { $0 % 3 == 0 ? 0 : 1.5 }
        e.withStageWeights(hidden: h) { w in
            XCTAssertEqual(w.vocab, vocab); XCTAssertEqual(w.positions, positions); XCTAssertEqual(w.typeVocab, typeVocab)
            embeddingStageForward(w, ids: ids, types: types, positions: pos, out: &plain)
            embeddingStageForward(w, ids: ids, types: types, positions: pos, out: &cached,
                                  cache: EmbeddingStageCache(sum: &sum, mean: &mean, rstd: &rstd))
            embeddingStageForward(w, ids: ids, types: types, positions: pos, out: &dropped, dropout: mask)
        }
        var worst = 0.0
        for i in 0..<nh { worst = max(worst, abs(Double(plain[i]) - want[i])) }
        XCTAssertLessThan(worst, 1e-5, "embedding stage vs double twin")
        XCTAssertEqual(cached, plain, "the cache changes no output float")
        for i in 0..<nh { XCTAssertEqual(dropped[i], plain[i] * mask[i], "dropout after the LayerNorm, index \(i)") }
        // the cache: pre-LN sum, and each row's mean / rstd
        for r in 0..<n {
            let wi = min(max(Int(ids[r]), 0), vocab - 1), ti = min(max(Int(types[r]), 0), typeVocab - 1)
            let x = (0..<h).map { j in
                Double(e.wordEmbeddings[wi * h + j]) + Double(e.positionEmbeddings[Int(pos[r]) * h + j])
                    + Double(e.tokenTypeEmbeddings[ti * h + j])
            }
            for j in 0..<h { XCTAssertEqual(Double(sum[r * h + j]), x[j], accuracy: 1e-5) }
            let m = x.reduce(0, +) / Double(h)
            let v = x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(h)
            XCTAssertEqual(Double(mean[r]), m, accuracy: 1e-5, "row \(r) mean")
            XCTAssertEqual(Double(rstd[r]), 1 / (v + 1e-12).squareRoot(), accuracy: 1e-4 / v.squareRoot(), "row \(r) rstd")
        }
    }

    /// Naive twin of the head in Double: logits = classifier(tanh(pooler(cls)) * mask).
    func headReference(pw: [Float], pb: [Float], cw: [Float], cb: [Float], labels: Int,
                       hidden: [Float], lengths: [Int], mask: [Float]?) -> [Double] {
        var logits = [Double]()
        var off = 0
        for (b, len) in lengths.enumerated() {
            let cls = (0..<h).map { Double(hidden[off * h + $0]) }
            let pooled = (0..<h).map { o -> Double in
                var s = Double(pb[o])
                for k in 0..<h { s += Double(pw[o * h + k]) * cls[k] }
                return tanh(s) * Double(mask?[b * h + o] ?? 1)
            }
            for l in 0..<labels {
                var s = Double(cb[l])
                for k in 0..<h { s += Double(cw[l * h + k]) * pooled[k] }
                logits.append(s)
            }
            off += len
        }
        return logits
    }

    func testClassifierHeadMatchesNaiveTwinBorrowedAndPacked() {
        var rng = SplitMix64(seed: 11)
        let labels = 3, lengths = [4, 1, 6]
        let n = lengths.reduce(0, +), bsz = lengths.count
        let pw = random(h * h, 0.3, 0, &rng), pb = random(h, 0.1, 0, &rng)
        let cw = random(labels * h, 0.3, 0, &rng), cb = random(labels, 0.1, 0, &rng)
        let hidden = random(n * h, 1, 0, &rng)
        let mask: [Float] = (0..<(bsz * h)).map { $0 % 4 == 1 ? 0 : 1.25 }

        // inference: packed fp32 copies, aliased pre = pooled = dropped, no dropout
        let packed = ClassifierHeadWeights(
            pooler: .packed(PackedLinear(Linear(weight: pw, bias: pb, outFeatures: h, inFeatures: h), precision: .fp32)),
            classifier: .packed(PackedLinear(Linear(weight: cw, bias: cb, outFeatures: labels, inFeatures: h), precision: .fp32)))
        XCTAssertEqual(packed.hidden, h); XCTAssertEqual(packed.labels, labels)
        var cls = [Float](repeating: .nan, count: bsz * h), scratch = [Float](repeating: .nan, count: bsz * h)
        var inference = [Float](repeating: .nan, count: bsz * labels)
        cls.withUnsafeMutableBufferPointer { c in scratch.withUnsafeMutableBufferPointer { s in
        inference.withUnsafeMutableBufferPointer { l in
            classifierHeadForward(packed, hidden: hidden, lengths: lengths,
                                  buffers: ClassifierHeadBuffers(cls: c.baseAddress!, pre: s.baseAddress!, pooled: s.baseAddress!,
                                                                 dropped: s.baseAddress!, logits: l.baseAddress!), workers: 2)
        } } }

        // training: borrowed pointers, separate buffers, with and without dropout
        func training(_ dropout: [Float]?) -> (logits: [Float], pooled: [Float], dropped: [Float]) {
            var c = [Float](repeating: .nan, count: bsz * h), pre = c, pooled = c, dropped = c
            var logits = [Float](repeating: .nan, count: bsz * labels)
            pw.withUnsafeBufferPointer { pwp in pb.withUnsafeBufferPointer { pbp in
            cw.withUnsafeBufferPointer { cwp in cb.withUnsafeBufferPointer { cbp in
                let w = ClassifierHeadWeights(
                    pooler: .borrowed(weight: pwp.baseAddress!, bias: pbp.baseAddress!, outFeatures: h, inFeatures: h),
                    classifier: .borrowed(weight: cwp.baseAddress!, bias: cbp.baseAddress!, outFeatures: labels, inFeatures: h))
                classifierHeadForward(w, hidden: hidden, lengths: lengths,
                                      buffers: ClassifierHeadBuffers(cls: &c, pre: &pre, pooled: &pooled, dropped: &dropped,
                                                                     logits: &logits), dropout: dropout)
            } } } }
            return (logits, pooled, dropped)
        }
        let plain = training(nil), dropped = training(mask)

        XCTAssertEqual(plain.logits, inference, "training's head and inference's give the same floats")
        XCTAssertEqual(plain.pooled, plain.dropped, "no dropout: dropped is pooled")
        XCTAssertEqual(dropped.pooled, plain.pooled, "the pooled output is kept before dropout")
        for i in 0..<(bsz * h) { XCTAssertEqual(dropped.dropped[i], plain.pooled[i] * mask[i]) }
        for (got, mask) in [(inference, nil), (dropped.logits, mask)] as [([Float], [Float]?)] {
            let want = headReference(pw: pw, pb: pb, cw: cw, cb: cb, labels: labels, hidden: hidden, lengths: lengths, mask: mask)
            XCTAssertEqual(got.count, want.count)
            for i in 0..<want.count { XCTAssertEqual(Double(got[i]), want[i], accuracy: 1e-4, "logit \(i)") }
        }
    }
}
