// Losses on scores: BCE with logits (cross-encoder training), MarginMSE and KL distillation from teacher scores.
// Scores are [B, C]: row i holds query i's candidates, column 0 the positive, columns 1..<C its negatives.

import Foundation

/// Mean binary cross-entropy with logits (torch BCEWithLogitsLoss); grads = [dLogits [n]].
public func bceWithLogitsLoss(logits: [Float], labels: [Float]) -> LossGradients {
    precondition(logits.count == labels.count && !logits.isEmpty, "BCE: \(logits.count) logits, \(labels.count) labels")
    let n = Double(logits.count)
    var loss = 0.0
    var d = [Float](repeating: 0, count: logits.count)
    for i in 0..<logits.count {
        let x = Double(logits[i]), y = Double(labels[i])
        loss += max(x, 0) - x * y + log1p(exp(-abs(x)))
        d[i] = Float((1 / (1 + exp(-x)) - y) / n)
    }
    return LossGradients(loss: loss / n, grads: [d])
}

/// MarginMSE (Hofstaetter et al.; sentence-transformers MarginMSELoss): mean over queries i and negatives j of
/// ((s[i,0] - s[i,j]) - (t[i,0] - t[i,j]))^2. grads = [dStudent [B, C]].
public func marginMSELoss(student: [Float], teacher: [Float], candidates c: Int) -> LossGradients {
    precondition(c >= 2 && student.count == teacher.count && student.count % c == 0, "MarginMSE: bad shapes")
    let b = student.count / c
    let count = Double(b * (c - 1))
    var loss = 0.0
    var d = [Float](repeating: 0, count: student.count)
    for i in 0..<b {
        for j in 1..<c {
            let e = Double(student[i * c] - student[i * c + j]) - Double(teacher[i * c] - teacher[i * c + j])
            loss += e * e
            let g = Float(2 * e / count)
            d[i * c] += g
            d[i * c + j] -= g
        }
    }
    return LossGradients(loss: loss / count, grads: [d])
}

/// KL distillation (sentence-transformers DistillKLDivLoss): T^2 * mean_i KL(softmax(t_i / T) || softmax(s_i / T)).
/// grads = [dStudent [B, C]].
public func klDistillationLoss(student: [Float], teacher: [Float], candidates c: Int, temperature: Float = 1) -> LossGradients {
    precondition(c >= 2 && student.count == teacher.count && student.count % c == 0, "KL: bad shapes")
    let b = student.count / c, t = Double(temperature)
    var loss = 0.0
    var d = [Float](repeating: 0, count: student.count)
    for i in 0..<b {
        let ls = logSoftmax((0..<c).map { Double(student[i * c + $0]) / t })
        let lt = logSoftmax((0..<c).map { Double(teacher[i * c + $0]) / t })
        for j in 0..<c {
            let pt = exp(lt[j])
            loss += pt * (lt[j] - ls[j])
            d[i * c + j] = Float(t * (exp(ls[j]) - pt) / Double(b))
        }
    }
    return LossGradients(loss: t * t * loss / Double(b), grads: [d])
}

func logSoftmax(_ x: [Double]) -> [Double] {
    let mx = x.max() ?? 0
    let lse = mx + log(x.reduce(0) { $0 + exp($1 - mx) })
    return x.map { $0 - lse }
}

/// Dot-product scores of each query with its own candidates: queries [B, D], docs [B * C, D] (query-major:
/// row i*C + j is query i's candidate j) -> scores [B, C].
public func groupedDotScores(queries: [Float], docs: [Float], candidates c: Int, dim: Int) -> [Float] {
    let b = queries.count / dim
    var s = [Float](repeating: 0, count: b * c)
    for i in 0..<b { for j in 0..<c {
        var v: Float = 0
        for k in 0..<dim { v += queries[i * dim + k] * docs[(i * c + j) * dim + k] }
        s[i * c + j] = v
    } }
    return s
}

/// Backward of `groupedDotScores`: returns (dQueries [B, D], dDocs [B * C, D]) for dScores [B, C].
public func groupedDotScoresBackward(dScores: [Float], queries: [Float], docs: [Float], candidates c: Int,
                                     dim: Int) -> (dQueries: [Float], dDocs: [Float]) {
    let b = queries.count / dim
    var dq = [Float](repeating: 0, count: queries.count), dd = [Float](repeating: 0, count: docs.count)
    for i in 0..<b { for j in 0..<c {
        let g = dScores[i * c + j]
        for k in 0..<dim {
            dq[i * dim + k] += g * docs[(i * c + j) * dim + k]
            dd[(i * c + j) * dim + k] += g * queries[i * dim + k]
        }
    } }
    return (dq, dd)
}
