import Kernels

// The one encoder-layer forward of Strata: inference (`BertEngine`) and training (`TrainableBert`)
// both run `encoderLayerForward`. Packed batch of N tokens (no padding), hidden H, intermediate I:
//   qkv[N, 3H] = x · Wqkv^T + bqkv            (one GEMM: Q | K | V side by side)
//   ctx[N, H]  = attention per sequence        (Kernels' attentionForward)
//   r1[N, H]   = (ctx · Wo^T + bo) [* mask1] + x;         x1 = LN1(r1)
//   pre[N, I]  = x1 · Wi^T + bi;                          act = gelu(pre)
//   r2[N, H]   = (act · Wout^T + bout) [* mask2] + x1;    out = LN2(r2)
// Every bias is added before its dropout mask and residual, in that order, so training with dropout
// off and inference compute the same floats. Training passes caches and masks; inference passes
// scratch (aliased where it can) and none.

/// A dense layer y = x W^T + b as the encoder layer reads it: either fp32 weights borrowed from a
/// buffer owned elsewhere (training's parameter buffer: no copy; a layout whose query, key and value
/// tensors are adjacent gives the fused [3H, H] projection for free), or a `PackedLinear` (inference:
/// fp32, or bf16 / int8 packed for their GEMMs).
public enum DenseWeights: @unchecked Sendable {
    /// weight [outFeatures, inFeatures] row-major and bias [outFeatures], fp32, borrowed: they must
    /// outlive every use of this value.
    case borrowed(weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, outFeatures: Int, inFeatures: Int)
    /// An owned copy in the copy's precision.
    case packed(PackedLinear)

    public var outFeatures: Int {
        switch self { case .borrowed(_, _, let o, _): return o; case .packed(let l): return l.outFeatures }
    }
    public var inFeatures: Int {
        switch self { case .borrowed(_, _, _, let i): return i; case .packed(let l): return l.inFeatures }
    }
    /// True when the GEMM adds the bias in its own epilogue (the bf16 / int8 kernels); fp32 adds it in
    /// the row pass that follows (it is then still in cache).
    var fusesBias: Bool {
        if case .packed(let l) = self { return l.precision != .fp32 }
        return false
    }
    /// True when the GEMM can add the bias and apply GELU in its epilogue, while the tile is in
    /// registers (the packed fp32, bf16 and int8 kernels: the same bits as the separate passes).
    var fusesBiasGelu: Bool {
        if case .packed(let l) = self { return l.precision != .fp32 || l.fp32Gemm == .packed }
        return false
    }

    /// out[rows, out] = x[rows, in] · W^T (+ bias when `addBias`), then GELU when `gelu` (packed only).
    func apply(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>, addBias: Bool,
               gelu: Bool = false, workers: Int) {
        switch self {
        case .packed(let l):
            l.apply(x, rows: rows, out: out, addBias: addBias, gelu: gelu, workers: workers)
        case .borrowed(let w, let b, let n, let k):
            precondition(!gelu, "a borrowed dense layer has no GELU epilogue")
            linearForward(out: out, x: x, weight: w, bias: addBias ? b : nil, n: rows, inFeatures: k, outFeatures: n,
                          workers: workers)
        }
    }

    /// The fp32 weight [outFeatures, inFeatures] and bias [outFeatures] of a borrowed view; nil for a
    /// packed copy. (Training's backward reads parameters, and writes gradients, through views like this.)
    public var borrowedPointers: (weight: UnsafePointer<Float>, bias: UnsafePointer<Float>)? {
        if case .borrowed(let w, let b, _, _) = self { return (w, b) }
        return nil
    }

    /// Runs `body` with the bias [outFeatures].
    func withBias<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
        switch self {
        case .borrowed(_, let b, _, _): return try body(b)
        case .packed(let l): return try l.bias.withUnsafeBufferPointer { try body($0.baseAddress!) }
        }
    }
}

/// LayerNorm parameters as the encoder layer reads them: borrowed fp32 pointers or owned arrays.
public enum NormWeights: @unchecked Sendable {
    /// gamma [H], beta [H], borrowed (they must outlive every use of this value).
    case borrowed(gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float)
    case owned(LayerNormWeights)

    /// gamma [H] and beta [H] of a borrowed view; nil for owned arrays.
    public var borrowedPointers: (gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>)? {
        if case .borrowed(let g, let b, _) = self { return (g, b) }
        return nil
    }

    func withPointers<R>(_ body: (_ gamma: UnsafePointer<Float>, _ beta: UnsafePointer<Float>, _ eps: Float) throws -> R) rethrows -> R {
        switch self {
        case .borrowed(let g, let b, let eps): return try body(g, b, eps)
        case .owned(let n):
            return try n.gamma.withUnsafeBufferPointer { g in try n.beta.withUnsafeBufferPointer { b in
                try body(g.baseAddress!, b.baseAddress!, n.eps)
            } }
        }
    }
}

/// One encoder layer's parameters, typed: the view both forwards read.
public struct EncoderLayerWeights: Sendable {
    /// [3H, H] query | key | value rows stacked in that order, and [3H] biases.
    public let qkv: DenseWeights
    /// [H, H] attention.output.dense
    public let attentionOutput: DenseWeights
    public let attentionNorm: NormWeights
    /// [I, H] intermediate.dense (GELU follows)
    public let intermediate: DenseWeights
    /// [H, I] output.dense
    public let output: DenseWeights
    public let outputNorm: NormWeights

    public init(qkv: DenseWeights, attentionOutput: DenseWeights, attentionNorm: NormWeights,
                intermediate: DenseWeights, output: DenseWeights, outputNorm: NormWeights) {
        let h = attentionOutput.outFeatures, i = intermediate.outFeatures
        precondition(qkv.outFeatures == 3 * h && qkv.inFeatures == h && attentionOutput.inFeatures == h
                     && intermediate.inFeatures == h && output.outFeatures == h && output.inFeatures == i,
                     "encoder layer: inconsistent dense shapes")
        self.qkv = qkv; self.attentionOutput = attentionOutput; self.attentionNorm = attentionNorm
        self.intermediate = intermediate; self.output = output; self.outputNorm = outputNorm
    }

    public var hidden: Int { attentionOutput.outFeatures }
    public var intermediateSize: Int { intermediate.outFeatures }
}

/// Where one layer's forward writes (N tokens). Inference may alias: `x1` = `r1`, `act` = `pre`,
/// `r2` = `out` = the layer's input (the input is last read when r1 is formed). Training keeps
/// every one apart, since backward reads them.
public struct EncoderLayerBuffers {
    /// [N, 3H]
    public var qkv: UnsafeMutablePointer<Float>
    /// [N, H]
    public var ctx: UnsafeMutablePointer<Float>
    /// [N, H] LN1 input; [N, H] LN1 output
    public var r1: UnsafeMutablePointer<Float>, x1: UnsafeMutablePointer<Float>
    /// [N, I] GELU input (bias added); [N, I] GELU output
    public var pre: UnsafeMutablePointer<Float>, act: UnsafeMutablePointer<Float>
    /// [N, H] LN2 input; [N, H] layer output
    public var r2: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>
    /// Training's caches (nil for inference): attention probabilities [sum NH len^2] (see
    /// `attentionOffsets`), and each LayerNorm's per-row mean and rstd [N].
    public var probs: UnsafeMutablePointer<Float>? = nil
    public var mean1: UnsafeMutablePointer<Float>? = nil, rstd1: UnsafeMutablePointer<Float>? = nil
    public var mean2: UnsafeMutablePointer<Float>? = nil, rstd2: UnsafeMutablePointer<Float>? = nil

    public init(qkv: UnsafeMutablePointer<Float>, ctx: UnsafeMutablePointer<Float>,
                r1: UnsafeMutablePointer<Float>, x1: UnsafeMutablePointer<Float>,
                pre: UnsafeMutablePointer<Float>, act: UnsafeMutablePointer<Float>,
                r2: UnsafeMutablePointer<Float>, out: UnsafeMutablePointer<Float>) {
        self.qkv = qkv; self.ctx = ctx; self.r1 = r1; self.x1 = x1; self.pre = pre; self.act = act
        self.r2 = r2; self.out = out
    }
}

/// Training's dropout for one layer: inverted-dropout masks (0 or 1/(1-p)) drawn by the caller.
public struct EncoderLayerDropout {
    /// Laid out like probs; `dropped` receives probs * mask (backward reads it). Needs `probs`.
    public var attention: (mask: UnsafePointer<Float>, dropped: UnsafeMutablePointer<Float>)?
    /// [N, H] on the attention output dense (after its bias, before the residual).
    public var attentionOutput: UnsafePointer<Float>?
    /// [N, H] on the output dense (after its bias, before the residual).
    public var output: UnsafePointer<Float>?

    public init(attention: (mask: UnsafePointer<Float>, dropped: UnsafeMutablePointer<Float>)? = nil,
                attentionOutput: UnsafePointer<Float>? = nil, output: UnsafePointer<Float>? = nil) {
        self.attention = attention; self.attentionOutput = attentionOutput; self.output = output
    }
}

/// One BERT encoder layer over a packed batch (sequence b owns `lengths[b]` consecutive rows):
/// input [N, H] -> buffers.out [N, H], the sequence in this file's header. Row-wise passes (bias,
/// mask, residual, LayerNorm, GELU) and attention use `parallelism`'s threads; fp32 GEMMs use
/// OpenBLAS's (see `Parallelism`).
public func encoderLayerForward(_ w: EncoderLayerWeights, input x: UnsafePointer<Float>, lengths: [Int], heads: Int,
                                buffers o: EncoderLayerBuffers, dropout: EncoderLayerDropout? = nil,
                                parallelism: Parallelism) {
    let h = w.hidden, inter = w.intermediateSize
    let n = lengths.reduce(0, +)
    let workers = parallelism.threads
    precondition(UnsafePointer(o.r1) != x, "encoderLayerForward: r1 must not alias the input")
    // qkv[N, 3H] = x · Wqkv^T + b
    w.qkv.apply(x, rows: n, out: o.qkv, addBias: true, workers: workers)
    // ctx[N, H], per sequence over its own tokens
    attentionForward(ctx: o.ctx, probs: o.probs, dropped: dropout?.attention?.dropped, qkv: o.qkv, lengths: lengths,
                     dropMask: dropout?.attention?.mask, hidden: h, heads: heads, parallelism: parallelism)
    // r1 = (ctx · Wo^T + bo) [* mask1] + x; x1 = LN1(r1)
    w.attentionOutput.apply(o.ctx, rows: n, out: o.r1, addBias: false, workers: workers)
    biasMaskResidualNorm(o.r1, bias: w.attentionOutput, mask: dropout?.attentionOutput, residual: x,
                         norm: w.attentionNorm, out: o.x1, mean: o.mean1, rstd: o.rstd1, rows: n, cols: h, workers: workers)
    // pre[N, I] = x1 · Wi^T + bi; act = gelu(pre). Inference (act aliases pre) on a packed layer: bias
    // and GELU in the GEMM's epilogue, the same bits as the passes below. Otherwise (training keeps pre;
    // sgemm): bf16/int8 add the bias in the GEMM, fp32 in the GELU pass.
    if o.act == o.pre && w.intermediate.fusesBiasGelu {
        w.intermediate.apply(o.x1, rows: n, out: o.act, addBias: true, gelu: true, workers: workers)
    } else {
        let fused = w.intermediate.fusesBias
        w.intermediate.apply(o.x1, rows: n, out: o.pre, addBias: fused, workers: workers)
        w.intermediate.withBias { b in
            let pre = o.pre, act = o.act
            parallelRanges(n, minPerWorker: 16, workers: workers) { rows in
                for r in rows {
                    let p = pre + r * inter, a = act + r * inter
                    if !fused { addInPlace(p, b, count: inter) }
                    if a != p { a.update(from: p, count: inter) }
                    geluInPlace(a, count: inter)
                }
            }
        }
    }
    // r2 = (act · Wout^T + bout) [* mask2] + x1; out = LN2(r2)
    w.output.apply(o.act, rows: n, out: o.r2, addBias: false, workers: workers)
    biasMaskResidualNorm(o.r2, bias: w.output, mask: dropout?.output, residual: o.x1,
                         norm: w.outputNorm, out: o.out, mean: o.mean2, rstd: o.rstd2, rows: n, cols: h, workers: workers)
}

/// Row by row (each row stays in cache): y += bias; y *= mask; y += residual; out = LN(y), keeping
/// mean / rstd when given. `out` may be `y`; `residual` must not be `y`.
private func biasMaskResidualNorm(_ y: UnsafeMutablePointer<Float>, bias: DenseWeights, mask: UnsafePointer<Float>?,
                                  residual: UnsafePointer<Float>, norm: NormWeights, out: UnsafeMutablePointer<Float>,
                                  mean: UnsafeMutablePointer<Float>?, rstd: UnsafeMutablePointer<Float>?,
                                  rows: Int, cols: Int, workers: Int) {
    bias.withBias { b in norm.withPointers { gamma, beta, eps in
        parallelRanges(rows, minPerWorker: 64, workers: workers) { part in
            for row in part {
                let o = row * cols, yr = y + o
                addInPlace(yr, b, count: cols)
                if let mask { for j in 0..<cols { yr[j] *= mask[o + j] } }
                addInPlace(yr, residual + o, count: cols)
                let (m, s) = layerNormRow(UnsafePointer(yr), out: out + o, cols: cols, gamma: gamma, beta: beta, eps: eps)
                mean?[row] = m
                rstd?[row] = s
            }
        }
    } }
}
