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

/// The one packed layout of the head's tensors in a flat fp32 buffer, in storage order: pooler
/// weight [H, H] and bias [H], classifier weight [L, H] and bias [L]. Training's `ParameterLayout`
/// places them so (after the encoder layers) and reads them through `weights(in:)`, over its
/// parameters and, with the same offsets, its gradients. Offsets count floats from the buffer start.
public struct ClassifierHeadLayout: Sendable, Equatable {
    public let hidden: Int, labels: Int
    /// pooler.dense [H, H] and [H].
    public private(set) var poolerWeight = 0, poolerBias = 0
    /// classifier [L, H] and [L].
    public private(set) var classifierWeight = 0, classifierBias = 0
    /// Floats in the block.
    public let count: Int

    /// A block starting at offset 0. Both sizes must be positive.
    public init(hidden: Int, labels: Int) {
        precondition(hidden > 0 && labels > 0, "classifier head: hidden \(hidden) and labels \(labels) must be positive")
        self.hidden = hidden; self.labels = labels
        let order = Self.storageOrder(hidden: hidden, labels: labels)
        count = order.reduce(0) { $0 + $1.shape.reduce(1, *) }
        var at = 0
        for t in order {
            self[keyPath: t.field] = at
            at += t.shape.reduce(1, *)
        }
    }

    /// The same block `base` floats further into a buffer.
    public func shifted(by base: Int) -> ClassifierHeadLayout {
        var s = self
        for t in Self.storageOrder(hidden: hidden, labels: labels) { s[keyPath: t.field] += base }
        return s
    }

    /// The tensors in storage order: Hugging Face name (`BertTensorNames`, BertModel naming), shape and role.
    public var tensors: [(name: String, shape: [Int], role: TensorRole)] {
        Self.storageOrder(hidden: hidden, labels: labels).map { ($0.name, $0.shape, $0.role) }
    }

    private static func storageOrder(hidden h: Int, labels: Int)
        -> [(field: WritableKeyPath<ClassifierHeadLayout, Int>, name: String, shape: [Int], role: TensorRole)] {
        let N = BertTensorNames.self
        return [(\.poolerWeight, N.pooler + ".weight", [h, h], .weight), (\.poolerBias, N.pooler + ".bias", [h], .bias),
                (\.classifierWeight, N.classifier + ".weight", [labels, h], .weight),
                (\.classifierBias, N.classifier + ".bias", [labels], .bias)]
    }

    /// The head in `params` as its forward reads it: borrowed fp32 views, no copy. `params` must
    /// outlive the result.
    public func weights(in params: UnsafePointer<Float>) -> ClassifierHeadWeights {
        ClassifierHeadWeights(
            pooler: .borrowed(weight: params + poolerWeight, bias: params + poolerBias, outFeatures: hidden, inFeatures: hidden),
            classifier: .borrowed(weight: params + classifierWeight, bias: params + classifierBias,
                                  outFeatures: labels, inFeatures: hidden))
    }
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
