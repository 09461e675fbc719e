import Foundation

/// A linear layer in Hugging Face layout: y = x W^T + b, `weight` [out, in], `bias` [out].
public struct Linear: Sendable {
    public var weight: [Float]
    public var bias: [Float]
    public let outFeatures: Int
    public let inFeatures: Int

    public init(weight: [Float], bias: [Float], outFeatures: Int, inFeatures: Int) {
        precondition(weight.count == outFeatures * inFeatures && bias.count == outFeatures)
        self.weight = weight; self.bias = bias; self.outFeatures = outFeatures; self.inFeatures = inFeatures
    }
}

/// LayerNorm parameters over the hidden dimension: `gamma` [H], `beta` [H].
public struct LayerNormWeights: Sendable {
    public var gamma: [Float]
    public var beta: [Float]
    public let eps: Float
    public init(gamma: [Float], beta: [Float], eps: Float) { self.gamma = gamma; self.beta = beta; self.eps = eps }
}

/// `embeddings.*`: word [V, H], position [P, H], token type [T, H] tables and their LayerNorm.
public struct BertEmbeddings: Sendable {
    public var wordEmbeddings: [Float]
    public var positionEmbeddings: [Float]
    public var tokenTypeEmbeddings: [Float]
    public var layerNorm: LayerNormWeights

    public init(wordEmbeddings: [Float], positionEmbeddings: [Float], tokenTypeEmbeddings: [Float], layerNorm: LayerNormWeights) {
        self.wordEmbeddings = wordEmbeddings; self.positionEmbeddings = positionEmbeddings
        self.tokenTypeEmbeddings = tokenTypeEmbeddings; self.layerNorm = layerNorm
    }
}

/// `encoder.layer.N.*`: self-attention (query, key, value, attention.output.dense + LayerNorm)
/// and the feed-forward block (intermediate.dense, output.dense + LayerNorm).
public struct BertLayer: Sendable {
    public var query: Linear
    public var key: Linear
    public var value: Linear
    public var attentionOutput: Linear
    public var attentionLayerNorm: LayerNormWeights
    public var intermediate: Linear
    public var output: Linear
    public var outputLayerNorm: LayerNormWeights
}

/// All weights of a BERT checkpoint, named after the Hugging Face tensors.
/// `pooler` and `classifier` are present for `BertForSequenceClassification` (cross encoders).
public struct BertWeights: Sendable {
    public var config: BertConfig
    public var embeddings: BertEmbeddings
    public var layers: [BertLayer]
    public var pooler: Linear?
    public var classifier: Linear?

    public init(config: BertConfig, embeddings: BertEmbeddings, layers: [BertLayer], pooler: Linear?, classifier: Linear?) {
        self.config = config; self.embeddings = embeddings; self.layers = layers
        self.pooler = pooler; self.classifier = classifier
    }

    /// Loads `config.json` and `model.safetensors` from a model directory. Both layouts are
    /// read: BertModel (`embeddings.*`, `encoder.layer.N.*`) and BertForSequenceClassification
    /// (`bert.` prefix, `bert.pooler.dense`, `classifier`), with LayerNorm as weight/bias or
    /// the old gamma/beta names.
    public static func load(directory: URL) throws -> BertWeights {
        let config = try BertConfig.load(directory.appendingPathComponent("config.json").path)
        let file = try SafeTensorsFile(path: directory.appendingPathComponent("model.safetensors").path)
        return try load(file: file, config: config)
    }

    /// Loads weights from an opened safetensors file for the given configuration.
    public static func load(file: SafeTensorsFile, config: BertConfig) throws -> BertWeights {
        let h = config.hiddenSize, i = config.intermediateSize
        let prefix = file.contains("bert." + BertTensorNames.wordEmbeddings) ? "bert." : ""
        // Every tensor read is checked finite: a NaN or Inf weight would give NaN embeddings in fp32
        // and bf16, and plausible-looking finite ones in int8 (quantization clamps it), silently.
        func floats(_ name: String, _ shape: [Int]) throws -> [Float] {
            let v = try file.floats(name, shape: shape)
            if let bad = v.firstIndex(where: { !$0.isFinite }) {
                throw ModelError.corruptFile(file: file.path, reason: "tensor '\(name)' holds \(v[bad]) at element \(bad): weights must be finite")
            }
            return v
        }
        func t(_ name: String, _ shape: [Int]) throws -> [Float] { try floats(prefix + name, shape) }
        func linear(_ name: String, out: Int, in inF: Int, root: String = prefix) throws -> Linear {
            Linear(weight: try floats(root + name + ".weight", [out, inF]),
                   bias: try floats(root + name + ".bias", [out]), outFeatures: out, inFeatures: inF)
        }
        func norm(_ name: String) throws -> LayerNormWeights {
            let legacy = !file.contains(prefix + name + ".weight") && file.contains(prefix + name + ".gamma")
            return LayerNormWeights(gamma: try t(name + (legacy ? ".gamma" : ".weight"), [h]),
                                    beta: try t(name + (legacy ? ".beta" : ".bias"), [h]), eps: config.layerNormEps)
        }
        let N = BertTensorNames.self
        let emb = BertEmbeddings(
            wordEmbeddings: try t(N.wordEmbeddings, [config.vocabSize, h]),
            positionEmbeddings: try t(N.positionEmbeddings, [config.maxPositionEmbeddings, h]),
            tokenTypeEmbeddings: try t(N.tokenTypeEmbeddings, [config.typeVocabSize, h]),
            layerNorm: try norm(N.embeddingsLayerNorm))
        var layers: [BertLayer] = []
        for n in 0..<config.numHiddenLayers {
            let p = N.layer(n)
            layers.append(BertLayer(
                query: try linear(p.query, out: h, in: h),
                key: try linear(p.key, out: h, in: h),
                value: try linear(p.value, out: h, in: h),
                attentionOutput: try linear(p.attentionOutput, out: h, in: h),
                attentionLayerNorm: try norm(p.attentionLayerNorm),
                intermediate: try linear(p.intermediate, out: i, in: h),
                output: try linear(p.output, out: h, in: i),
                outputLayerNorm: try norm(p.outputLayerNorm)))
        }
        var pooler: Linear? = nil, classifier: Linear? = nil
        if config.isSequenceClassifier {
            pooler = try linear(N.pooler, out: h, in: h)
            classifier = try linear(N.classifier, out: config.numLabels, in: h, root: "")
        } else if file.contains(prefix + N.pooler + ".weight") {
            pooler = try linear(N.pooler, out: h, in: h)
        }
        return BertWeights(config: config, embeddings: emb, layers: layers, pooler: pooler, classifier: classifier)
    }

    /// Every tensor under its Hugging Face name (`bert.` prefix when a classifier is present),
    /// in the layout `transformers` and `sentence-transformers` load unchanged.
    public func namedTensors() -> [(name: String, shape: [Int], data: [Float])] {
        let h = config.hiddenSize
        let prefix = classifier != nil ? "bert." : ""
        var out: [(name: String, shape: [Int], data: [Float])] = []
        func add(_ n: String, _ s: [Int], _ d: [Float]) { out.append((prefix + n, s, d)) }
        func addLinear(_ n: String, _ l: Linear, root: String? = nil) {
            let r = root ?? prefix
            out.append((r + n + ".weight", [l.outFeatures, l.inFeatures], l.weight))
            out.append((r + n + ".bias", [l.outFeatures], l.bias))
        }
        func addNorm(_ n: String, _ l: LayerNormWeights) { add(n + ".weight", [h], l.gamma); add(n + ".bias", [h], l.beta) }
        let N = BertTensorNames.self
        add(N.wordEmbeddings, [config.vocabSize, h], embeddings.wordEmbeddings)
        add(N.positionEmbeddings, [config.maxPositionEmbeddings, h], embeddings.positionEmbeddings)
        add(N.tokenTypeEmbeddings, [config.typeVocabSize, h], embeddings.tokenTypeEmbeddings)
        addNorm(N.embeddingsLayerNorm, embeddings.layerNorm)
        for (n, l) in layers.enumerated() {
            let p = N.layer(n)
            addLinear(p.query, l.query)
            addLinear(p.key, l.key)
            addLinear(p.value, l.value)
            addLinear(p.attentionOutput, l.attentionOutput)
            addNorm(p.attentionLayerNorm, l.attentionLayerNorm)
            addLinear(p.intermediate, l.intermediate)
            addLinear(p.output, l.output)
            addNorm(p.outputLayerNorm, l.outputLayerNorm)
        }
        if let pooler { addLinear(N.pooler, pooler) }
        if let classifier { addLinear(N.classifier, classifier, root: "") }
        return out
    }

    /// Writes `model.safetensors` (HF tensor names, F32) and `config.json` into `directory`.
    public func save(to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var cfg = config
        cfg.numHiddenLayers = layers.count
        try SafeTensorsFile.write(namedTensors(), to: directory.appendingPathComponent("model.safetensors").path)
        try cfg.save(directory.appendingPathComponent("config.json").path)
    }
}
