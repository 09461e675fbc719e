import Kernels

// The one cross-encoder head forward of Strata (BertForSequenceClassification): inference
// (`BertEngine.classify`) and training (`TrainableBert.classifierForward`) both run
// `classifierHeadForward`. Packed hidden states [N, H] of B sequences, L labels:
//   cls[B, H]    = hidden[offsets[b]]                 (clsPoolForward, each sequence's [CLS] row)
//   pre[B, H]    = cls · Wp^T + bp                    (pooler.dense)
//   pooled[B, H] = tanh(pre)
//   dropped      = pooled [* mask]                    (training's dropout; inference: dropped = pooled)
//   logits[B, L] = dropped · Wc^T + bc                (classifier)

/// The head's parameters: pooler [H, H] and classifier [L, H] dense layers (fp32 in every precision).
public struct ClassifierHeadWeights: Sendable {
    public let pooler: DenseWeights
    public let classifier: DenseWeights

    public init(pooler: DenseWeights, classifier: DenseWeights) {
        precondition(pooler.inFeatures == pooler.outFeatures && classifier.inFeatures == pooler.outFeatures,
                     "classifier head: pooler [\(pooler.outFeatures), \(pooler.inFeatures)] and classifier "
                     + "[\(classifier.outFeatures), \(classifier.inFeatures)] do not chain")
        self.pooler = pooler; self.classifier = classifier
    }

    public var hidden: Int { pooler.outFeatures }
    public var labels: Int { classifier.outFeatures }
}

/// Where the head writes (B sequences). Inference may alias `pre` = `pooled` = `dropped`; training
/// keeps `cls`, `pooled` and `dropped` apart (backward reads them).
public struct ClassifierHeadBuffers {
    /// [B, H] each
    public var cls: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>
    public var pooled: UnsafeMutablePointer<Float>, dropped: UnsafeMutablePointer<Float>
    /// [B, L]
    public var logits: UnsafeMutablePointer<Float>

    public init(cls: UnsafeMutablePointer<Float>, pre: UnsafeMutablePointer<Float>, pooled: UnsafeMutablePointer<Float>,
                dropped: UnsafeMutablePointer<Float>, logits: UnsafeMutablePointer<Float>) {
        self.cls = cls; self.pre = pre; self.pooled = pooled; self.dropped = dropped; self.logits = logits
    }
}

/// The head over packed hidden states [N, H] (sequence b owns `lengths[b]` consecutive rows): the
/// sequence in this file's header. `dropout` [B, H] is an inverted-dropout mask (0 or 1/(1-p)) on the
/// pooled output, as HF applies in training.
public func classifierHeadForward(_ w: ClassifierHeadWeights, hidden: UnsafePointer<Float>, lengths: [Int],
                                  buffers o: ClassifierHeadBuffers, dropout: UnsafePointer<Float>? = nil, workers: Int = 1) {
    let b = lengths.count, h = w.hidden
    clsPoolForward(out: o.cls, hidden: hidden, lengths: lengths, dim: h)
    w.pooler.apply(o.cls, rows: b, out: o.pre, addBias: true, workers: workers)
    tanhForward(out: o.pooled, x: o.pre, n: b * h)
    if o.dropped != o.pooled { o.dropped.update(from: o.pooled, count: b * h) }
    if let dropout { for i in 0..<(b * h) { o.dropped[i] *= dropout[i] } }
    w.classifier.apply(o.dropped, rows: b, out: o.logits, addBias: true, workers: workers)
}
