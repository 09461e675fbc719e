// A BERT encoder (+ optional CE head) that trains: parameters and gradients in flat buffers laid out by
// ParameterLayout, forward caching activations, backward accumulating gradients. Packed batches.
// N tokens, B sequences, H hidden, I intermediate, NH heads.

import Kernels
import Model

/// Trainable BERT on flat buffers. Not thread-safe; one forward must precede each backward.
public final class TrainableBert {
    public let layout: ParameterLayout
    public var shape: BertShape { layout.shape }
    /// All parameters [layout.total], in layout order.
    public let params: UnsafeMutablePointer<Float>
    /// Gradients [layout.total], same layout; backward ACCUMULATES here (call zeroGradients()).
    public let grads: UnsafeMutablePointer<Float>
    /// BERT's hidden_dropout_prob (embeddings, attention output, FFN output, classifier input).
    public var hiddenDropout: Float = 0.1
    /// BERT's attention_probs_dropout_prob.
    public var attentionDropout: Float = 0.1
    /// Threads for attention, GELU and the encoder layers' row passes (bias, dropout, residual, LayerNorm)
    /// forward, and attention and GELU backward; the fp32 GEMMs use OpenBLAS's process-wide count (see
    /// `Parallelism`).
    public var parallelism: Parallelism = .process

    // The typed views, resolved once from `layout` (its typed offsets, checked against the named
    // entries when it was built): over `params` as the shared forwards read them, and with the same
    // offsets over `grads`, through which backward accumulates. Borrowed: no copy.

    /// Each encoder layer's parameters (the layout's adjacent query, key and value tensors are the
    /// fused [3H, H] projection).
    public let layerWeights: [EncoderLayerWeights]
    /// Each encoder layer's gradients.
    public let layerGradients: [EncoderLayerWeights]
    /// The embedding tables and their LayerNorm.
    public let embeddingWeights: EmbeddingStageWeights
    /// Their gradients.
    public let embeddingGradients: EmbeddingStageWeights
    /// The CE head's pooler and classifier; nil without a classifier head.
    public let headWeights: ClassifierHeadWeights?
    /// Their gradients; nil without a classifier head.
    public let headGradients: ClassifierHeadWeights?
    let emb = EmbeddingCache()
    let layers: [LayerCache]
    let head = HeadCache()
    // backward scratch
    let gA = FloatBuffer(), gB = FloatBuffer(), gI1 = FloatBuffer(), gI2 = FloatBuffer()
    let gQKV = FloatBuffer(), gHidden = FloatBuffer()
    var batch = PackedBatch()
    var trained = false

    /// A model with all parameters zero (use `initialize` or load values into `params`).
    public init(shape: BertShape) {
        let layout = ParameterLayout(shape)
        self.layout = layout
        let p = UnsafeMutablePointer<Float>.allocate(capacity: layout.total)
        p.initialize(repeating: 0, count: layout.total)
        params = p
        grads = .allocate(capacity: layout.total)
        grads.initialize(repeating: 0, count: layout.total)
        layers = (0..<shape.layers).map { _ in LayerCache() }
        let eps = shape.layerNormEps, w = UnsafePointer(p), g = UnsafePointer(grads)
        layerWeights = layout.layerOffsets.map { $0.weights(in: w, eps: eps) }
        layerGradients = layout.layerOffsets.map { $0.weights(in: g, eps: eps) }
        embeddingWeights = layout.embedding.weights(in: w, eps: eps)
        embeddingGradients = layout.embedding.weights(in: g, eps: eps)
        headWeights = layout.head?.weights(in: w)
        headGradients = layout.head?.weights(in: g)
    }
    deinit { params.deallocate(); grads.deallocate() }

    /// Pointer to a parameter tensor by HF name: for checkpoint conversion and tests (forward and
    /// backward read the typed views).
    public func param(_ name: String) -> UnsafeMutablePointer<Float> { params + layout.offset(name) }
    /// Pointer to a gradient tensor by HF name: for tests against reference gradients.
    public func grad(_ name: String) -> UnsafeMutablePointer<Float> { grads + layout.offset(name) }

    /// Sets every gradient to zero.
    public func zeroGradients() { grads.update(repeating: 0, count: layout.total) }

    /// A copy of all parameters.
    public var parameterArray: [Float] {
        get { Array(UnsafeBufferPointer(start: params, count: layout.total)) }
        set { precondition(newValue.count == layout.total); params.update(from: newValue, count: layout.total) }
    }
    /// A copy of all gradients.
    public var gradientArray: [Float] { Array(UnsafeBufferPointer(start: grads, count: layout.total)) }

    /// BERT initialisation (HF `_init_weights`, initializer_range 0.02) of every tensor whose name passes
    /// `filter`, by its role: weights and embeddings N(0, std), biases 0, LayerNorm gamma 1 / beta 0.
    /// Values are drawn in layout order.
    public func initialize(rng: inout SplitMix64, std: Float = 0.02, filter: (String) -> Bool = { _ in true }) {
        for e in layout.entries where filter(e.name) {
            let p = params + e.offset
            switch e.role {
            case .normGamma: p.update(repeating: 1, count: e.count)
            case .bias, .normBeta: p.update(repeating: 0, count: e.count)
            case .weight: for i in 0..<e.count { p[i] = std * rng.normal() }
            }
        }
    }

    // MARK: forward

    /// Runs the encoder on a packed batch; returns the last hidden states [N, H] (valid until the next
    /// forward). Activations are kept for `backward`; with `training`, dropout masks are drawn from `rng`.
    @discardableResult
    public func forward(_ b: PackedBatch, training: Bool, rng: inout SplitMix64) -> UnsafePointer<Float> {
        let s = shape, n = b.tokenCount, h = s.hidden
        precondition((b.lengths.max() ?? 0) <= s.maxPositions,
                     "sequence of \(b.lengths.max() ?? 0) tokens exceeds max_position_embeddings \(s.maxPositions)")
        batch = b
        trained = training
        let nh = n * h
        // embeddings: gather, LayerNorm, dropout (Model's embeddingStageForward, the stage inference runs)
        var mask: UnsafePointer<Float>? = nil
        if training && hiddenDropout > 0 {
            makeDropoutMask(emb.mask.ensure(nh), count: nh, p: hiddenDropout, rng: &rng)
            mask = UnsafePointer(emb.mask.pointer)
        }
        embeddingStageForward(embeddingWeights, ids: b.ids, types: b.types, positions: b.positions, out: emb.out.ensure(nh),
                              cache: EmbeddingStageCache(sum: emb.sum.ensure(nh), mean: emb.mean.ensure(n), rstd: emb.rstd.ensure(n)),
                              dropout: mask)
        var x = UnsafePointer(emb.out.pointer)
        for l in 0..<s.layers {
            layerForward(l, input: x, training: training, rng: &rng)
            x = UnsafePointer(layers[l].out.pointer)
        }
        return x
    }

    /// One layer forward through Model's `encoderLayerForward` (the sequence inference runs), with every
    /// activation kept in the layer's cache for `layerBackward` and, when training, dropout masks drawn
    /// from `rng` in a fixed order (attention probs, attention output, FFN output).
    private func layerForward(_ l: Int, input x: UnsafePointer<Float>, training: Bool, rng: inout SplitMix64) {
        let s = shape, b = batch, n = b.tokenCount, h = s.hidden, inter = s.intermediate
        let c = layers[l]
        let nh = n * h
        let att = attentionOffsets(lengths: b.lengths, heads: s.heads).total
        var buffers = EncoderLayerBuffers(qkv: c.qkv.ensure(3 * nh), ctx: c.ctx.ensure(nh),
                                          r1: c.r1.ensure(nh), x1: c.x1.ensure(nh),
                                          pre: c.pre.ensure(n * inter), act: c.act.ensure(n * inter),
                                          r2: c.r2.ensure(nh), out: c.out.ensure(nh))
        buffers.probs = c.probs.ensure(att)
        buffers.mean1 = c.mean1.ensure(n); buffers.rstd1 = c.rstd1.ensure(n)
        buffers.mean2 = c.mean2.ensure(n); buffers.rstd2 = c.rstd2.ensure(n)
        var dropout = EncoderLayerDropout()
        if training && attentionDropout > 0 {
            makeDropoutMask(c.attnMask.ensure(att), count: att, p: attentionDropout, rng: &rng)
            dropout.attention = (UnsafePointer(c.attnMask.pointer), c.dropped.ensure(att))
        }
        if training && hiddenDropout > 0 {
            makeDropoutMask(c.mask1.ensure(nh), count: nh, p: hiddenDropout, rng: &rng)
            makeDropoutMask(c.mask2.ensure(nh), count: nh, p: hiddenDropout, rng: &rng)
            dropout.attentionOutput = UnsafePointer(c.mask1.pointer)
            dropout.output = UnsafePointer(c.mask2.pointer)
        }
        encoderLayerForward(layerWeights[l], input: x, lengths: b.lengths, heads: s.heads,
                            buffers: buffers, dropout: dropout, parallelism: parallelism)
    }

    // MARK: backward

    /// A zeroed gradient buffer for the last hidden states [N, H] of the last forward, for heads to fill.
    public func hiddenGradient() -> UnsafeMutablePointer<Float> { gHidden.zeroed(batch.tokenCount * shape.hidden) }

    /// Backpropagates dHidden [N, H] (gradient of the loss w.r.t. the last forward's output; the buffer is
    /// used as scratch) through the encoder, ACCUMULATING parameter gradients.
    public func backward(dHidden: UnsafeMutablePointer<Float>) {
        let s = shape, b = batch, n = b.tokenCount, h = s.hidden, nh = n * h
        var dOut = dHidden
        for l in stride(from: s.layers - 1, through: 0, by: -1) {
            let input = l == 0 ? UnsafePointer(emb.out.pointer) : UnsafePointer(layers[l - 1].out.pointer)
            // result lands in a buffer different from dOut
            let dIn = (dOut == gA.pointer) ? gB.zeroed(nh) : gA.zeroed(nh)
            layerBackward(l, dOut: dOut, input: input, dInput: dIn)
            dOut = dIn
        }
        // embeddings: dropout, LayerNorm, scatter
        if trained && hiddenDropout > 0 { applyMask(dOut, mask: emb.mask.pointer, count: nh) }
        let w = EmbeddingTensors(embeddingWeights), g = EmbeddingTensors(embeddingGradients)
        let dSum = gI1.zeroed(nh)
        layerNormBackward(dx: dSum, dgamma: g.norm.gamma, dbeta: g.norm.beta, dout: dOut, x: emb.sum.pointer, gamma: w.norm.gamma,
                          mean: emb.mean.pointer, rstd: emb.rstd.pointer, n: n, c: h)
        embeddingsBackward(dwte: g.word, dwpe: g.position, dwtt: g.tokenType, dout: dSum,
                           ids: b.ids, types: b.types, positions: b.positions,
                           vocab: embeddingGradients.vocab, typeVocab: embeddingGradients.typeVocab, hidden: h)
    }

    /// One layer backward: dOut [N, H] (clobbered) -> dInput [N, H] (zeroed by the caller, accumulated here).
    private func layerBackward(_ l: Int, dOut: UnsafeMutablePointer<Float>, input x: UnsafePointer<Float>,
                               dInput dx: UnsafeMutablePointer<Float>) {
        let s = shape, b = batch, n = b.tokenCount, h = s.hidden, inter = s.intermediate
        let c = layers[l], w = LayerTensors(layerWeights[l]), g = LayerTensors(layerGradients[l])
        let nh = n * h, dropping = trained && hiddenDropout > 0
        // scratch: gI1 / gI2 hold one gradient each at a time (each is consumed before its buffer is reused)
        let dR2 = gI2.zeroed(nh)
        // LN2 backward: dOut -> dR2
        layerNormBackward(dx: dR2, dgamma: g.outputNorm.gamma, dbeta: g.outputNorm.beta,
                          dout: dOut, x: c.r2.pointer, gamma: w.outputNorm.gamma,
                          mean: c.mean2.pointer, rstd: c.rstd2.pointer, n: n, c: h)
        // residual: dX1 = dR2 (kept in dOut's buffer, which is free now); output dense sees dR2 * mask2
        let dX1 = dOut
        dX1.update(from: dR2, count: nh)
        if dropping { applyMask(dR2, mask: c.mask2.pointer, count: nh) }
        let dAct = gI1.zeroed(n * inter)
        linearBackward(dx: dAct, dweight: g.output.weight, dbias: g.output.bias,
                       dout: dR2, x: c.act.pointer, weight: w.output.weight,
                       n: n, inFeatures: inter, outFeatures: h)
        let dPre = gI2.zeroed(n * inter)
        geluBackward(dx: dPre, dout: dAct, x: c.pre.pointer, n: n * inter, parallelism: parallelism)
        linearBackward(dx: dX1, dweight: g.intermediate.weight, dbias: g.intermediate.bias,
                       dout: dPre, x: c.x1.pointer, weight: w.intermediate.weight,
                       n: n, inFeatures: h, outFeatures: inter)
        // LN1 backward: dX1 -> dR1 (in gI1, free now)
        let dR1 = gI1.zeroed(nh)
        layerNormBackward(dx: dR1, dgamma: g.attentionNorm.gamma,
                          dbeta: g.attentionNorm.beta, dout: dX1, x: c.r1.pointer,
                          gamma: w.attentionNorm.gamma,
                          mean: c.mean1.pointer, rstd: c.rstd1.pointer, n: n, c: h)
        // residual into dx; attention output dense sees dR1 * mask1
        for i in 0..<nh { dx[i] += dR1[i] }
        if dropping { applyMask(dR1, mask: c.mask1.pointer, count: nh) }
        let dCtx = gI2.zeroed(nh)
        linearBackward(dx: dCtx, dweight: g.attentionOutput.weight,
                       dbias: g.attentionOutput.bias, dout: dR1, x: c.ctx.pointer,
                       weight: w.attentionOutput.weight, n: n, inFeatures: h, outFeatures: h)
        let dQKV = gQKV.zeroed(3 * nh)
        let dropAtt = trained && attentionDropout > 0
        attentionBackward(dqkv: dQKV, dctx: dCtx, qkv: c.qkv.pointer, probs: c.probs.pointer,
                          dropped: dropAtt ? UnsafePointer(c.dropped.pointer) : nil,
                          dropMask: dropAtt ? UnsafePointer(c.attnMask.pointer) : nil,
                          lengths: b.lengths, hidden: h, heads: s.heads, parallelism: parallelism)
        linearBackward(dx: dx, dweight: g.qkv.weight, dbias: g.qkv.bias,
                       dout: dQKV, x: x, weight: w.qkv.weight,
                       n: n, inFeatures: h, outFeatures: 3 * h)
    }
}
