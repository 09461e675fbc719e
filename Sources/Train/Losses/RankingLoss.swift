// MultipleNegativesRankingLoss (sentence-transformers): in-batch negatives over cosine similarity x scale.
// anchors [B, D]; candidates [M, D] with M = B * (1 + k): rows 0..<B are the positives (candidate i belongs to
// anchor i), then k blocks of B hard negatives (block j row i = anchor i's j-th negative), as ST concatenates them.
// S = scale * cos(anchors, candidates) [B, M]; loss = mean_i CE(S_i, label i).
// Symmetric (MultipleNegativesSymmetricRankingLoss): (loss + mean_j CE(S[:, :B]^T_j, label j)) / 2.

import Kernels
import Model
import Foundation

/// A loss value and the gradients of its inputs.
public struct LossGradients: Sendable {
    public var loss: Double
    /// Gradient per input, in the order the loss function documents.
    public var grads: [[Float]]
}

/// MultipleNegativesRankingLoss on embeddings; grads = [dAnchors [B, D], dCandidates [M, D]].
public func multipleNegativesRankingLoss(anchors: [Float], candidates: [Float], dim: Int,
                                         scale: Float = 20, symmetric: Bool = false) -> LossGradients {
    let b = anchors.count / dim, m = candidates.count / dim
    precondition(b > 0 && m >= b && m % b == 0 && anchors.count == b * dim && candidates.count == m * dim,
                 "MNRL: \(b) anchors and \(m) candidates of dim \(dim)")
    var an = [Float](repeating: 0, count: b * dim), cn = [Float](repeating: 0, count: m * dim)
    var aNorm = [Float](repeating: 0, count: b), cNorm = [Float](repeating: 0, count: m)
    l2NormalizeForward(out: &an, norms: &aNorm, x: anchors, rows: b, dim: dim)
    l2NormalizeForward(out: &cn, norms: &cNorm, x: candidates, rows: m, dim: dim)
    var s = [Float](repeating: 0, count: b * m)
    sgemm(transA: false, transB: true, m: b, n: m, k: dim, alpha: scale, a: an, lda: dim, b: cn, ldb: dim,
              beta: 0, c: &s, ldc: m)
    var ds = [Float](repeating: 0, count: b * m)
    let w: Double = symmetric ? 0.5 : 1
    var loss = w * softmaxCrossEntropy(s, rows: b, cols: m, rowStride: m, colStride: 1, labels: Array(0..<b),
                                       dScores: &ds, weight: Float(w) / Float(b))
    if symmetric {
        // transpose of the positives block: row j = S[:, j], label j
        loss += w * softmaxCrossEntropy(s, rows: b, cols: b, rowStride: 1, colStride: m, labels: Array(0..<b),
                                        dScores: &ds, weight: Float(w) / Float(b))
    }
    // S = scale * an cn^T
    var dan = [Float](repeating: 0, count: b * dim), dcn = [Float](repeating: 0, count: m * dim)
    sgemm(transA: false, transB: false, m: b, n: dim, k: m, alpha: scale, a: ds, lda: m, b: cn, ldb: dim,
              beta: 0, c: &dan, ldc: dim)
    sgemm(transA: true, transB: false, m: m, n: dim, k: b, alpha: scale, a: ds, lda: m, b: an, ldb: dim,
              beta: 0, c: &dcn, ldc: dim)
    var da = [Float](repeating: 0, count: b * dim), dc = [Float](repeating: 0, count: m * dim)
    l2NormalizeBackward(dx: &da, dout: dan, out: an, norms: aNorm, rows: b, dim: dim)
    l2NormalizeBackward(dx: &dc, dout: dcn, out: cn, norms: cNorm, rows: m, dim: dim)
    return LossGradients(loss: loss, grads: [da, dc])
}

/// Cross-entropy -log softmax(scores row r)[labels[r]] of each row r, where row r, column c is
/// scores[r * rowStride + c * colStride]. ACCUMULATES weight * d(sum over rows)/d(scores) into dScores (same
/// indexing). Returns the mean over rows.
func softmaxCrossEntropy(_ scores: [Float], rows: Int, cols: Int, rowStride: Int, colStride: Int,
                         labels: [Int], dScores: inout [Float], weight: Float) -> Double {
    var total = 0.0
    var p = [Double](repeating: 0, count: cols)
    for r in 0..<rows {
        var mx = -Double.infinity
        for c in 0..<cols { p[c] = Double(scores[r * rowStride + c * colStride]); mx = max(mx, p[c]) }
        var sum = 0.0
        for c in 0..<cols { p[c] = exp(p[c] - mx); sum += p[c] }
        total += -log(p[labels[r]] / sum)
        for c in 0..<cols {
            let g = p[c] / sum - (c == labels[r] ? 1 : 0)
            dScores[r * rowStride + c * colStride] += weight * Float(g)
        }
    }
    return total / Double(rows)
}
