import Foundation

// Multi-head self-attention over a PACKED batch (the forward both inference and training run).
// Sequences are stored back to back without padding: sequence b owns tokens
// offsets[b] ..< offsets[b] + lengths[b] of every [N, *] buffer (N = total tokens).
// This is exactly BERT attention with a padding mask (HF adds finfo.min to padded keys' scores:
// they get probability 0; padded query rows feed nothing real downstream), minus the padding work.
// H hidden, NH heads, d = H / NH. qkv [N, 3H]: q (cols 0..<H), k (H..<2H), v (2H..<3H), head h at h*d.
// probs, dropped: for sequence b and head h a [len_b, len_b] block at attentionOffsets(lengths)[b] + h*len_b^2.

/// Start of each sequence's [NH, len, len] block in the probs buffer, and the total size.
public func attentionOffsets(lengths: [Int], heads: Int) -> (offsets: [Int], total: Int) {
    var offs = [Int](), t = 0
    for l in lengths { offs.append(t); t += heads * l * l }
    return (offs, t)
}

/// Start of each sequence in the packed token buffers.
public func tokenOffsets(lengths: [Int]) -> [Int] {
    var offs = [Int](), t = 0
    for l in lengths { offs.append(t); t += l }
    return offs
}

/// ctx[i, h*d..] = sum_j P[h,i,j] v[j, h*d..], P = softmax_j(q_i . k_j / sqrt d), within each sequence.
/// When `dropMask` (0 or 1/(1-p), laid out like probs) is given, ctx uses dropped = P * dropMask.
/// `probs` nil (inference: no activation cache) computes each head's P in a per-thread [len, len] scratch
/// that stays in cache; dropout needs `probs`.
public func attentionForward(ctx: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>?,
                             dropped: UnsafeMutablePointer<Float>?, qkv: UnsafePointer<Float>,
                             lengths: [Int], dropMask: UnsafePointer<Float>?, hidden: Int, heads: Int,
                             parallelism: Parallelism = .process) {
    let d = hidden / heads, h3 = 3 * hidden
    let scale = 1 / Float(d).squareRoot()
    let toks = tokenOffsets(lengths: lengths), pOffs = attentionOffsets(lengths: lengths, heads: heads).offsets
    // sequences spread over the threads, each making single-threaded BLAS calls (disjoint outputs: deterministic)
    precondition(probs != nil || dropMask == nil, "attention dropout needs the probs buffer")
    let maxLen = lengths.max() ?? 0
    forEachSequenceRange(lengths, hidden: hidden, workers: parallelism.threads) { range in
    let scratch = probs == nil ? UnsafeMutablePointer<Float>.allocate(capacity: max(1, maxLen * maxLen)) : nil
    defer { scratch?.deallocate() }
    for b in range {
        let len = lengths[b]
        for h in 0..<heads {
            let q = qkv + toks[b] * h3 + h * d, k = q + hidden, v = q + 2 * hidden
            let po = pOffs[b] + h * len * len
            let p = probs.map { $0 + po } ?? scratch!
            // scores [len, len] = scale * q_h k_h^T
            sgemm(transA: false, transB: true, m: len, n: len, k: d, alpha: scale,
                      a: q, lda: h3, b: k, ldb: h3, beta: 0, c: p, ldc: len)
            softmaxRows(p, rows: len, cols: len, ld: len, scale: 1)   // Kernels' 16-lane softmax
            var use = UnsafePointer(p)
            if let dropMask, let dropped {
                let pd = dropped + po, m = dropMask + po
                for t in 0..<(len * len) { pd[t] = p[t] * m[t] }
                use = UnsafePointer(pd)
            }
            sgemm(transA: false, transB: false, m: len, n: d, k: len, alpha: 1,
                      a: use, lda: len, b: v, ldb: h3, beta: 0, c: ctx + toks[b] * hidden + h * d, ldc: hidden)
        }
    }
    }
}

/// Runs `body` over ranges of sequence indices: spread over `workers` threads with single-threaded BLAS when
/// the attention work is large (switching OpenBLAS's thread count costs milliseconds), else inline.
public func forEachSequenceRange(_ lengths: [Int], hidden: Int, workers: Int, _ body: (Range<Int>) -> Void) {
    let work = lengths.reduce(0) { $0 + $1 * $1 } * hidden * 4   // ~ FLOPs of scores + context
    if lengths.count < 2 || workers < 2 || work < 1 << 24 { body(0..<lengths.count); return }
    BLASThreads.singleThreaded { parallelRanges(lengths.count, workers: workers, body) }
}

