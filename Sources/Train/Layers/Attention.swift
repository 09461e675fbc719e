import Foundation
import Kernels

// Multi-head self-attention over a PACKED batch: the backward (the forward, shared with inference, is
// Kernels' attentionForward).
// Sequences are stored back to back without padding: sequence b owns tokens
// offsets[b] ..< offsets[b] + lengths[b] of every [N, *] buffer (N = total tokens).
// This is exactly BERT attention with a padding mask (HF adds finfo.min to padded keys' scores:
// they get probability 0; padded query rows feed nothing real downstream), minus the padding work.
// H hidden, NH heads, d = H / NH. qkv [N, 3H]: q (cols 0..<H), k (H..<2H), v (2H..<3H), head h at h*d.
// probs, dropped: for sequence b and head h a [len_b, len_b] block at
// attentionOffsets(lengths:heads:).offsets[b] + h*len_b^2.

/// Backward of `attentionForward`. ACCUMULATES into dqkv [N, 3H] (each sequence's rows only).
public func attentionBackward(dqkv: UnsafeMutablePointer<Float>, dctx: UnsafePointer<Float>,
                              qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>,
                              dropped: UnsafePointer<Float>?, dropMask: UnsafePointer<Float>?,
                              lengths: [Int], hidden: Int, heads: Int, parallelism: Parallelism = .process) {
    let d = hidden / heads, h3 = 3 * hidden
    let scale = 1 / Float(d).squareRoot()
    let toks = tokenOffsets(lengths: lengths), pOffs = attentionOffsets(lengths: lengths, heads: heads).offsets
    let maxLen = lengths.max() ?? 0
    forEachSequenceRange(lengths, hidden: hidden, workers: parallelism.threads) { range in
    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, maxLen * maxLen))   // dP / dS [len, len]
    defer { scratch.deallocate() }
    for b in range {
        let len = lengths[b]
        let dctxB = dctx + toks[b] * hidden
        for h in 0..<heads {
            let off = toks[b] * h3 + h * d
            let q = qkv + off, k = q + hidden, v = q + 2 * hidden
            let dq = dqkv + off, dk = dq + hidden, dv = dq + 2 * hidden
            let po = pOffs[b] + h * len * len
            let p = probs + po
            var use = p
            if let dropped, dropMask != nil { use = dropped + po }
            let dp = scratch
            // dP_used [len, len] = dctx_h [len, d] v_h^T
            sgemm(transA: false, transB: true, m: len, n: len, k: d, alpha: 1,
                      a: dctxB + h * d, lda: hidden, b: v, ldb: h3, beta: 0, c: dp, ldc: len)
            // dv += P_used^T dctx_h
            sgemm(transA: true, transB: false, m: len, n: d, k: len, alpha: 1,
                      a: use, lda: len, b: dctxB + h * d, ldb: hidden, beta: 1, c: dv, ldc: h3)
            if let dropMask {
                let m = dropMask + po
                for t in 0..<(len * len) { dp[t] *= m[t] }
            }
            // softmax backward in place: dS = P * (dP - sum_j dP P)
            for i in 0..<len {
                let pr = p + i * len, dr = dp + i * len
                var dot: Float = 0
                for j in 0..<len { dot += pr[j] * dr[j] }
                for j in 0..<len { dr[j] = pr[j] * (dr[j] - dot) }
            }
            // dq += scale dS k ; dk += scale dS^T q
            sgemm(transA: false, transB: false, m: len, n: d, k: len, alpha: scale,
                      a: dp, lda: len, b: k, ldb: h3, beta: 1, c: dq, ldc: h3)
            sgemm(transA: true, transB: false, m: len, n: d, k: len, alpha: scale,
                      a: dp, lda: len, b: q, ldb: h3, beta: 1, c: dk, ldc: h3)
        }
    }
    }
}

/// Naive twin of `attentionForward` without dropout, on a PADDED layout with an explicit key mask
/// (llm.c style loops): qkv [B, S, 3H], ctx [B, S, H], probs [B, NH, S, S]; padded rows/keys give 0.
public func naiveAttentionForward(ctx: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>,
                                  qkv: UnsafePointer<Float>, lengths: [Int], seq: Int, hidden: Int, heads: Int) {
    let d = hidden / heads, h3 = 3 * hidden
    let scale = 1 / Float(d).squareRoot()
    for b in 0..<lengths.count {
        for h in 0..<heads {
            for i in 0..<seq {
                let p = probs + ((b * heads + h) * seq + i) * seq
                let out = ctx + (b * seq + i) * hidden + h * d
                for t in 0..<d { out[t] = 0 }
                for j in 0..<seq { p[j] = 0 }
                if i >= lengths[b] { continue }
                var mx = -Float.infinity
                for j in 0..<seq {
                    var s: Float = 0
                    for t in 0..<d { s += qkv[(b * seq + i) * h3 + h * d + t] * qkv[(b * seq + j) * h3 + hidden + h * d + t] }
                    p[j] = j < lengths[b] ? s * scale : -Float.infinity
                    mx = max(mx, p[j])
                }
                var sum: Float = 0
                for j in 0..<seq { p[j] = exp(p[j] - mx); sum += p[j] }
                for j in 0..<seq { p[j] /= sum }
                for j in 0..<seq {
                    for t in 0..<d { out[t] += p[j] * qkv[(b * seq + j) * h3 + 2 * hidden + h * d + t] }
                }
            }
        }
    }
}

/// Naive twin of `attentionBackward` without dropout, padded layout (accumulates into dqkv [B, S, 3H]).
public func naiveAttentionBackward(dqkv: UnsafeMutablePointer<Float>, dctx: UnsafePointer<Float>,
                                   qkv: UnsafePointer<Float>, probs: UnsafePointer<Float>, lengths: [Int],
                                   seq: Int, hidden: Int, heads: Int) {
    let d = hidden / heads, h3 = 3 * hidden
    let scale = 1 / Float(d).squareRoot()
    var datt = [Float](repeating: 0, count: seq), dpre = [Float](repeating: 0, count: seq)
    for b in 0..<lengths.count {
        for h in 0..<heads {
            for i in 0..<lengths[b] {
                let p = probs + ((b * heads + h) * seq + i) * seq
                let dout = dctx + (b * seq + i) * hidden + h * d
                for j in 0..<seq { datt[j] = 0; dpre[j] = 0 }
                for j in 0..<seq {
                    for t in 0..<d {
                        let vIdx = (b * seq + j) * h3 + 2 * hidden + h * d + t
                        datt[j] += qkv[vIdx] * dout[t]
                        dqkv[vIdx] += p[j] * dout[t]
                    }
                }
                for j in 0..<seq {
                    for j2 in 0..<seq {
                        let ind: Float = j == j2 ? 1 : 0
                        dpre[j2] += p[j] * (ind - p[j2]) * datt[j]
                    }
                }
                for j in 0..<seq {
                    for t in 0..<d {
                        let qIdx = (b * seq + i) * h3 + h * d + t
                        let kIdx = (b * seq + j) * h3 + hidden + h * d + t
                        dqkv[qIdx] += qkv[kIdx] * dpre[j] * scale
                        dqkv[kIdx] += qkv[qIdx] * dpre[j] * scale
                    }
                }
            }
        }
    }
}
