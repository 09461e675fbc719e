// One micro-batch forward + backward for each kind of model; gradients ACCUMULATE (scaled by gradScale).

import Kernels
import Model

extension Trainer {
    /// DE micro-step. Texts are packed as [queries (B), positives (B), negatives block 1 (B), ...] and mean-pooled
    /// (over all tokens, [CLS]/[SEP] included, as sentence-transformers' Pooling does).
    func dualEncoderMicroStep(_ batch: [TrainingExample], gradScale: Float) -> Double {
        let b = batch.count, k = negativesPerExample(batch), h = model.shape.hidden
        var packed = PackedBatch()
        for e in batch { let t = tokenizer.single(e.query); packed.append(ids: t.ids, types: t.types) }
        for e in batch { let t = tokenizer.single(e.positive); packed.append(ids: t.ids, types: t.types) }
        for j in 0..<k { for e in batch { let t = tokenizer.single(e.negatives[j]); packed.append(ids: t.ids, types: t.types) } }
        let rows = packed.count
        let ones = [Float](repeating: 1, count: packed.tokenCount)
        let hidden = model.forward(packed, training: true, rng: &rng)
        var pooled = [Float](repeating: 0, count: rows * h)
        meanPoolForward(out: &pooled, hidden: hidden, weights: ones, lengths: packed.lengths, dim: h)
        var dPooled = [Float](repeating: 0, count: rows * h)
        let loss: Double
        switch options.objective {
        case .mnrl:
            let r = multipleNegativesRankingLoss(anchors: Array(pooled[0..<(b * h)]), candidates: Array(pooled[(b * h)...]),
                                                 dim: h, scale: options.scale, symmetric: options.symmetric)
            dPooled = r.grads[0] + r.grads[1]
            loss = r.loss
        default:
            // scores[i, j] = scale * cos(query i, candidate j of query i); candidate 0 = positive
            let c = 1 + k
            var normed = [Float](repeating: 0, count: rows * h), norms = [Float](repeating: 0, count: rows)
            l2NormalizeForward(out: &normed, norms: &norms, x: pooled, rows: rows, dim: h)
            var docs = [Float](repeating: 0, count: b * c * h)
            for i in 0..<b { for j in 0..<c {
                let src = (b + j * b + i) * h
                for t in 0..<h { docs[(i * c + j) * h + t] = normed[src + t] }
            } }
            let q = Array(normed[0..<(b * h)])
            let scores = groupedDotScores(queries: q, docs: docs, candidates: c, dim: h).map { $0 * options.scale }
            let r = scoreLoss(scores, batch: batch, candidates: c)
            let g = groupedDotScoresBackward(dScores: r.grads[0].map { $0 * options.scale }, queries: q, docs: docs,
                                             candidates: c, dim: h)
            var dNormed = [Float](repeating: 0, count: rows * h)
            for t in 0..<(b * h) { dNormed[t] = g.dQueries[t] }
            for i in 0..<b { for j in 0..<c {
                let dst = (b + j * b + i) * h
                for t in 0..<h { dNormed[dst + t] += g.dDocs[(i * c + j) * h + t] }
            } }
            l2NormalizeBackward(dx: &dPooled, dout: dNormed, out: normed, norms: norms, rows: rows, dim: h)
            loss = r.loss
        }
        if gradScale != 1 { for i in 0..<dPooled.count { dPooled[i] *= gradScale } }
        let dHidden = model.hiddenGradient()
        meanPoolBackward(dhidden: dHidden, dout: dPooled, weights: ones, lengths: packed.lengths, dim: h)
        model.backward(dHidden: dHidden)
        return loss
    }

    /// CE micro-step: pairs (query, positive) then (query, negative j) for each example, query-major; one logit each.
    func crossEncoderMicroStep(_ batch: [TrainingExample], gradScale: Float) -> Double {
        let k = negativesPerExample(batch), c = 1 + k
        var packed = PackedBatch()
        var labels: [Float] = []
        for e in batch {
            let p = tokenizer.pair(e.query, e.positive)
            packed.append(ids: p.ids, types: p.types); labels.append(1)
            for j in 0..<k {
                let n = tokenizer.pair(e.query, e.negatives[j])
                packed.append(ids: n.ids, types: n.types); labels.append(0)
            }
        }
        let hidden = model.forward(packed, training: true, rng: &rng)
        let logitsPtr = model.classifierForward(hidden: hidden, training: true, rng: &rng)
        let logits = Array(UnsafeBufferPointer(start: logitsPtr, count: packed.count))
        let r = options.objective == .bce ? bceWithLogitsLoss(logits: logits, labels: labels)
                                          : scoreLoss(logits, batch: batch, candidates: c)
        let dLogits = r.grads[0].map { $0 * gradScale }
        let dHidden = model.hiddenGradient()
        model.classifierBackward(dLogits: dLogits, dHidden: dHidden)
        model.backward(dHidden: dHidden)
        return r.loss
    }

    /// MarginMSE or KL on student scores [B, C] against the examples' teacher scores.
    func scoreLoss(_ student: [Float], batch: [TrainingExample], candidates c: Int) -> LossGradients {
        let teacher = batch.flatMap { Array(($0.scores ?? [])[0..<c]) }
        switch options.objective {
        case .kl: return klDistillationLoss(student: student, teacher: teacher, candidates: c, temperature: options.temperature)
        default: return marginMSELoss(student: student, teacher: teacher, candidates: c)
        }
    }
}
