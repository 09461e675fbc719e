import CStrataKernels
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

/// Which attention kernel runs: CStrataKernels' fused AVX-512F kernel, or its portable C twin (the same bits).
public enum AttentionKernel {
    /// True when the AVX-512F kernel runs (the CPU has AVX-512F and FMA, and the portable path is not
    /// forced: `ReducedPrecisionKernels.forcePortable` or STRATA_FORCE_PORTABLE).
    public static var simd: Bool { sk_attention_simd_active() != 0 }
}

/// ctx[i, h*d..] = sum_j P[h,i,j] v[j, h*d..], P = softmax_j(q_i . k_j / sqrt d), within each sequence.
/// When `dropMask` (0 or 1/(1-p), laid out like probs) is given, ctx uses dropped = P * dropMask (and
/// `dropped` receives it). Each (sequence, head) is one call of the fused kernel `sk_attention_head_f32`
/// (scores, softmax and P v for blocks of query rows, no BLAS; the exact operations are in
/// strata_attention.h); `probs` nil (inference: no activation cache) keeps P only in the kernel's
/// per-thread scratch. Results do not depend on `probs` being kept, nor on the thread count.
public func attentionForward(ctx: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>?,
                             dropped: UnsafeMutablePointer<Float>?, qkv: UnsafePointer<Float>,
                             lengths: [Int], dropMask: UnsafePointer<Float>?, hidden: Int, heads: Int,
                             parallelism: Parallelism = .process) {
    precondition(heads > 0 && hidden % heads == 0, "attention: hidden \(hidden) is not a multiple of heads \(heads)")
    precondition(probs != nil || dropMask == nil, "attention dropout needs the probs buffer")
    precondition((dropMask == nil) == (dropped == nil), "attention dropout needs both the mask and the dropped buffer")
    let d = hidden / heads, h3 = 3 * hidden
    let scale = 1 / Float(d).squareRoot()
    let toks = tokenOffsets(lengths: lengths), pOffs = attentionOffsets(lengths: lengths, heads: heads).offsets
    let items = lengths.count * heads            // work item b * heads + h: sequence b, head h
    guard items > 0 else { return }
    // contiguous runs of items with about equal work (len (len + 1) d each) per thread, so that one long
    // sequence spreads its heads over the threads as well
    var cum = [Int](repeating: 0, count: items + 1)
    for i in 0..<items { let l = lengths[i / heads]; cum[i + 1] = cum[i] + l * (l + 1) * d }
    let total = cum[items]
    let workers = total < attentionInlineWork ? 1 : min(parallelism.threads, items)
    var starts = [Int](repeating: items, count: workers + 1)
    var i = 0
    for w in 0..<workers {
        let target = total / workers * w + total % workers * w / workers
        while i < items && cum[i] < target { i += 1 }
        starts[w] = i
    }
    let scratchBytes = sk_attention_scratch_bytes(lengths.max()!, d)
    parallelRanges(workers, workers: workers) { ws in
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: scratchBytes, alignment: 64)
        defer { scratch.deallocate() }
        for w in ws {
            for item in starts[w]..<starts[w + 1] {
                let b = item / heads, h = item % heads, len = lengths[b]
                guard len > 0 else { continue }
                let q = qkv + toks[b] * h3 + h * d
                let po = pOffs[b] + h * len * len
                sk_attention_head_f32(q, q + hidden, q + 2 * hidden, h3, len, d, scale, ctx + toks[b] * hidden + h * d,
                                      hidden, probs.map { $0 + po }, dropMask.map { $0 + po }, dropped.map { $0 + po },
                                      scratch)
            }
        }
    }
}

/// Attention work (sum of len (len + 1) d over sequences and heads) below which one thread does it all:
/// about 10 us of work on one AVX-512 core, the order of what waking other threads costs.
let attentionInlineWork = 1 << 18

/// Runs `body` over ranges of sequence indices (attention's backward, which calls BLAS per sequence and
/// head): spread over `workers` threads with single-threaded BLAS when the attention work is large
/// (switching OpenBLAS's thread count costs milliseconds), else inline.
public func forEachSequenceRange(_ lengths: [Int], hidden: Int, workers: Int, _ body: (Range<Int>) -> Void) {
    let work = lengths.reduce(0) { $0 + $1 * $1 } * hidden * 4   // ~ FLOPs of scores + context
    if lengths.count < 2 || workers < 2 || work < 1 << 24 { body(0..<lengths.count); return }
    BLASThreads.singleThreaded { parallelRanges(lengths.count, workers: workers, body) }
}

