// Cross-encoder head of BertForSequenceClassification: pooler (dense + tanh on [CLS]), dropout, classifier.
// hidden [N, H] packed; cls, pre, pooled, dropped [B, H]; logits [B, L].

import Kernels
import Model

extension TrainableBert {
    /// Logits [B, numLabels] for the last forward's hidden states (valid until the next call).
    /// With `training`, dropout (hiddenDropout) is applied to the pooled output as HF does.
    public func classifierForward(hidden: UnsafePointer<Float>, training: Bool, rng: inout SplitMix64) -> UnsafePointer<Float> {
        guard let headWeights else { preconditionFailure("classifierForward on a model without a classifier head") }
        let bsz = batch.count, h = shape.hidden, labels = shape.numLabels
        var mask: UnsafePointer<Float>? = nil
        if training && hiddenDropout > 0 {
            makeDropoutMask(head.mask.ensure(bsz * h), count: bsz * h, p: hiddenDropout, rng: &rng)
            mask = UnsafePointer(head.mask.pointer)
        }
        // Model's classifierHeadForward, the head inference runs (with dropout on the pooled output here)
        classifierHeadForward(headWeights, hidden: hidden, lengths: batch.lengths,
                              buffers: ClassifierHeadBuffers(cls: head.cls.ensure(bsz * h), pre: head.pre.ensure(bsz * h),
                                                             pooled: head.pooled.ensure(bsz * h),
                                                             dropped: head.dropped.ensure(bsz * h),
                                                             logits: head.logits.ensure(bsz * labels)),
                              dropout: mask)
        return UnsafePointer(head.logits.pointer)
    }

    /// Backward of `classifierForward`: dLogits [B, L] -> ACCUMULATES into dHidden [N, H] and head gradients.
    public func classifierBackward(dLogits: UnsafePointer<Float>, dHidden: UnsafeMutablePointer<Float>) {
        guard let headWeights, let headGradients else { preconditionFailure("classifierBackward on a model without a classifier head") }
        let bsz = batch.count, h = shape.hidden, labels = shape.numLabels
        let w = HeadTensors(headWeights), g = HeadTensors(headGradients)
        let dDropped = gI1.zeroed(bsz * h)
        linearBackward(dx: dDropped, dweight: g.classifier.weight, dbias: g.classifier.bias,
                       dout: dLogits, x: head.dropped.pointer, weight: w.classifier.weight,
                       n: bsz, inFeatures: h, outFeatures: labels)
        if trained && hiddenDropout > 0 { applyMask(dDropped, mask: head.mask.pointer, count: bsz * h) }
        let dPre = gI2.zeroed(bsz * h)
        tanhBackward(dx: dPre, dout: dDropped, out: head.pooled.pointer, n: bsz * h)
        let dCls = gQKV.zeroed(bsz * h)
        linearBackward(dx: dCls, dweight: g.pooler.weight, dbias: g.pooler.bias,
                       dout: dPre, x: head.cls.pointer, weight: w.pooler.weight,
                       n: bsz, inFeatures: h, outFeatures: h)
        clsPoolBackward(dhidden: dHidden, dout: dCls, lengths: batch.lengths, dim: h)
    }
}
