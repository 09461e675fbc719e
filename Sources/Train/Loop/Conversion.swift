// Between the Model module's BertWeights (HF layout, per-tensor arrays) and TrainableBert's flat buffer.

import Model

extension BertShape {
    /// The trainable shape of a checkpoint's config, with `layers` encoder layers (default: all) and a CE head when
    /// `classifier` is true (numLabels from the config).
    public init(config c: BertConfig, layers: Int? = nil, classifier: Bool) {
        self.init(vocabSize: c.vocabSize, maxPositions: c.maxPositionEmbeddings, typeVocabSize: c.typeVocabSize,
                  hidden: c.hiddenSize, layers: layers ?? c.numHiddenLayers, heads: c.numAttentionHeads,
                  intermediate: c.intermediateSize, layerNormEps: c.layerNormEps, hasClassifier: classifier,
                  numLabels: classifier ? c.numLabels : 1)
    }
}

extension TrainableBert {
    /// Copies tensors from `w`: the embeddings when `embeddings`, encoder layers `layers` (same index here), and, when
    /// `head` and this model has a CE head, the source's pooler and classifier, each when the source has it (a dual
    /// encoder's pooler alone seeds the pooler; the classifier stays as initialised). Sizes must agree: every tensor is
    /// checked before any is written, so an error (naming the tensor) leaves the model as it was. This and `bertWeights` map the checkpoint's tensors to the flat buffer by name
    /// (Model's `BertTensorNames`); training's forward and backward read the typed views instead.
    public func copy(from w: BertWeights, embeddings: Bool, layers: Range<Int>, head: Bool) throws {
        var writes: [(offset: Int, values: [Float])] = []
        func put(_ name: String, _ values: [Float]) throws {
            guard let e = layout.entry(name) else { throw TrainError.config("no tensor \(name) in the trainable model") }
            guard e.count == values.count else {
                throw TrainError.config("\(name): source has \(values.count) values, model expects \(e.count) (shape \(e.shape))")
            }
            writes.append((e.offset, values))
        }
        func linear(_ n: String, _ l: Linear) throws { try put(n + ".weight", l.weight); try put(n + ".bias", l.bias) }
        func norm(_ n: String, _ l: LayerNormWeights) throws { try put(n + ".weight", l.gamma); try put(n + ".bias", l.beta) }
        let N = BertTensorNames.self
        if embeddings {
            try put(N.wordEmbeddings, w.embeddings.wordEmbeddings)
            try put(N.positionEmbeddings, w.embeddings.positionEmbeddings)
            try put(N.tokenTypeEmbeddings, w.embeddings.tokenTypeEmbeddings)
            try norm(N.embeddingsLayerNorm, w.embeddings.layerNorm)
        }
        for l in layers {
            guard l < w.layers.count else { throw TrainError.config("source model has \(w.layers.count) layers, layer \(l + 1) requested") }
            let s = w.layers[l], p = N.layer(l)
            try linear(p.query, s.query)
            try linear(p.key, s.key)
            try linear(p.value, s.value)
            try linear(p.attentionOutput, s.attentionOutput)
            try norm(p.attentionLayerNorm, s.attentionLayerNorm)
            try linear(p.intermediate, s.intermediate)
            try linear(p.output, s.output)
            try norm(p.outputLayerNorm, s.outputLayerNorm)
        }
        if head, shape.hasClassifier {
            if let pooler = w.pooler { try linear(N.pooler, pooler) }
            if let cls = w.classifier { try linear(N.classifier, cls) }
        }
        for (offset, values) in writes { (params + offset).update(from: values, count: values.count) }
    }

    /// The current parameters as BertWeights. `template` supplies the config (numHiddenLayers is set to this model's)
    /// and the value types (BertEmbeddings / BertLayer have no public initialisers; every field is overwritten).
    /// A DE keeps `pooler` (unused by DE inference; saved so transformers finds every BertModel tensor).
    public func bertWeights(template: BertWeights, config: BertConfig? = nil, pooler extraPooler: Linear? = nil) -> BertWeights {
        let s = shape, h = s.hidden
        var w = template
        w.config = config ?? template.config
        w.config.numHiddenLayers = s.layers
        func t(_ n: String) -> [Float] { let e = layout.entry(n)!; return Array(UnsafeBufferPointer(start: params + e.offset, count: e.count)) }
        func linear(_ n: String, out: Int, in i: Int) -> Linear { Linear(weight: t(n + ".weight"), bias: t(n + ".bias"), outFeatures: out, inFeatures: i) }
        func norm(_ n: String) -> LayerNormWeights { LayerNormWeights(gamma: t(n + ".weight"), beta: t(n + ".bias"), eps: s.layerNormEps) }
        let N = BertTensorNames.self
        w.embeddings.wordEmbeddings = t(N.wordEmbeddings)
        w.embeddings.positionEmbeddings = t(N.positionEmbeddings)
        w.embeddings.tokenTypeEmbeddings = t(N.tokenTypeEmbeddings)
        w.embeddings.layerNorm = norm(N.embeddingsLayerNorm)
        let proto = template.layers[0]
        w.layers = (0..<s.layers).map { l -> BertLayer in
            let p = N.layer(l)
            var x = proto
            x.query = linear(p.query, out: h, in: h)
            x.key = linear(p.key, out: h, in: h)
            x.value = linear(p.value, out: h, in: h)
            x.attentionOutput = linear(p.attentionOutput, out: h, in: h)
            x.attentionLayerNorm = norm(p.attentionLayerNorm)
            x.intermediate = linear(p.intermediate, out: s.intermediate, in: h)
            x.output = linear(p.output, out: h, in: s.intermediate)
            x.outputLayerNorm = norm(p.outputLayerNorm)
            return x
        }
        w.pooler = s.hasClassifier ? linear(N.pooler, out: h, in: h) : extraPooler
        w.classifier = s.hasClassifier ? linear(N.classifier, out: s.numLabels, in: h) : nil
        return w
    }
}
