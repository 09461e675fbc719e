import Kernels
import XCTest
import Foundation
import Model
import Tokenizer
import Train

/// HF-layout checkpoints: the trainable model agrees with the inference engine (Model module) on the same
/// weights, a save/load round trip is exact, and a run resumed from an on-disk checkpoint equals an uninterrupted one.
final class CheckpointTests: XCTestCase {
    static let words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "dog", "ran", "in",
                        "park", "a", "red", "ball", "blue", "sky", "is", "fish", "swim", "sea", "bird", "fly", "##s"]

    /// A temporary directory holding a random tiny CE in HF layout (bert. prefix + classifier) and its vocab.
    func makeTinyCE() throws -> (dir: URL, model: TrainableBert) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-ckpt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let shape = BertShape(vocabSize: Self.words.count, maxPositions: 32, typeVocabSize: 2, hidden: 16, layers: 2, heads: 2,
                              intermediate: 32, layerNormEps: 1e-12, hasClassifier: true, numLabels: 1)
        let m = TrainableBert(shape: shape)
        var rng = SplitMix64(seed: 3)
        m.initialize(rng: &rng, std: 0.3)
        for e in m.layout.entries where e.name.contains("LayerNorm") || e.name.hasSuffix("bias") {   // non-trivial values
            for i in 0..<e.count { m.params[e.offset + i] += 0.1 * rng.normal() }
        }
        let tensors = m.layout.entries.map { e in
            (name: e.name == "classifier.weight" || e.name == "classifier.bias" ? e.name : "bert." + e.name, shape: e.shape,
             data: Array(UnsafeBufferPointer(start: m.params + e.offset, count: e.count)))
        }
        try SafeTensorsFile.write(tensors, to: dir.appendingPathComponent("model.safetensors").path)
        let cfg = BertConfig(hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 32,
                             vocabSize: Self.words.count, architectures: ["BertForSequenceClassification"], id2label: ["0": "LABEL_0"])
        try cfg.save(dir.appendingPathComponent("config.json").path)
        try (Self.words.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("vocab.txt"), atomically: true, encoding: .utf8)
        return (dir, m)
    }

    func testTrainableForwardMatchesInferenceEngine() throws {
        let (dir, m) = try makeTinyCE()
        let enc = try TextEncoder.load(dir.path)
        XCTAssertEqual(enc.kind, .crossEncoder)
        let pairs = [("the cat sat", "on the mat"), ("dog ran", "in the park a red ball"), ("fish swim", "sea")]
        let engine = try enc.score(pairs)
        var batch = PackedBatch()
        for (a, b) in pairs { let e = enc.tokenizer.encodePair(a, b); batch.append(ids: e.ids, types: e.typeIds) }
        var rng = SplitMix64(seed: 1)
        let hidden = m.forward(batch, training: false, rng: &rng)
        let logits = Array(UnsafeBufferPointer(start: m.classifierForward(hidden: hidden, training: false, rng: &rng), count: 3))
        assertClose(logits, engine, atol: 1e-4, rtol: 1e-4, "trainable vs engine CE scores")
        XCTAssertGreaterThan((logits.max() ?? 0) - (logits.min() ?? 0), 1e-3, "scores differ between pairs")
    }

    /// Training (dropout off) and inference run the same encoder-layer code on the same floats: on one
    /// batch, serially, their last hidden states and their CE logits (one shared head) are identical. Training reads its layers through views
    /// into its parameter buffer, so values written after the model was built (here by `makeTinyCE`) count.
    func testTrainingAndInferenceHiddenStatesAreIdentical() throws {
        let (dir, m) = try makeTinyCE()
        // With the GEMM training runs (sgemm on the packed parameters), inference computes the same
        // floats; the default packed fp32 GEMM stays within fp32 rounding (checked at the end).
        let engine = BertEngine(weights: try BertWeights.load(directory: dir), fp32Gemm: .sgemm)
        engine.parallelism = .serial
        m.parallelism = .serial
        let batch = PackedBatch([(ids: [2, 5, 6, 7, 3], types: [0, 0, 0, 0, 0]), (ids: [2, 10, 11, 3, 9, 3], types: [0, 0, 0, 0, 1, 1])])
        let h = 16
        var infer: [Float] = [], inferLogits: [Float] = []
        engine.forward(batch, layers: [2]) { _, hidden in
            infer = Array(UnsafeBufferPointer(start: hidden, count: batch.tokenCount * h))
            inferLogits = engine.classify(hidden, batch: batch)
        }
        var rng = SplitMix64(seed: 1)
        let hidden = m.forward(batch, training: false, rng: &rng)
        let train = Array(UnsafeBufferPointer(start: hidden, count: batch.tokenCount * h))
        XCTAssertEqual(train, infer)
        XCTAssertGreaterThan(train.map(abs).max() ?? 0, 0.1, "non-trivial hidden states")
        // the CE head too: one classifierHeadForward, the same floats
        let labels = m.shape.numLabels
        let trainLogits = Array(UnsafeBufferPointer(start: m.classifierForward(hidden: hidden, training: false, rng: &rng),
                                                    count: batch.count * labels))
        XCTAssertEqual(inferLogits.count, batch.count * labels)
        XCTAssertEqual(trainLogits, inferLogits)
        XCTAssertGreaterThan(trainLogits.map(abs).max() ?? 0, 1e-3, "non-trivial logits")
        // the default engine (packed fp32 GEMM, weights packed once) agrees within fp32 rounding
        let packed = BertEngine(weights: try BertWeights.load(directory: dir), fp32Gemm: .packed)
        packed.parallelism = .serial
        packed.forward(batch, layers: [2]) { _, hidden in
            let p = Array(UnsafeBufferPointer(start: hidden, count: batch.tokenCount * h))
            let worst = zip(p, train).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? .infinity
            XCTAssertLessThan(worst, 2e-5, "packed fp32 vs training's sgemm")
            XCTAssertNotEqual(p, [], "packed forward ran")
        }
    }

    /// One behaviour for token ids outside the tables: inference and training both read the nearest
    /// row (clamp). Training used to read past the end of its embedding table.
    func testOutOfRangeTokenIdsAreClampedAlikeInTrainingAndInference() throws {
        let (dir, m) = try makeTinyCE()
        let weights = try BertWeights.load(directory: dir)
        let engine = BertEngine(weights: weights)
        let v = Int32(weights.config.vocabSize)
        let bad = PackedBatch([(ids: [2, v + 7, -4, 3], types: [0, 5, 0, -1])])
        let clamped = PackedBatch([(ids: [2, v - 1, 0, 3], types: [0, 1, 0, 0])])
        let h = weights.config.hiddenSize, last = weights.config.numHiddenLayers
        func infer(_ b: PackedBatch) -> [Float] {
            var out: [Float] = []
            engine.forward(b, layers: [last]) { _, hidden in out = Array(UnsafeBufferPointer(start: hidden, count: b.tokenCount * h)) }
            return out
        }
        var rng = SplitMix64(seed: 1)
        func train(_ b: PackedBatch) -> [Float] {
            Array(UnsafeBufferPointer(start: m.forward(b, training: false, rng: &rng), count: b.tokenCount * h))
        }
        XCTAssertEqual(infer(bad), infer(clamped), "inference clamps")
        XCTAssertEqual(train(bad), train(clamped), "training clamps")
        assertClose(train(bad), infer(bad), atol: 1e-4, rtol: 1e-4, "training and inference agree on bad ids")
    }

    /// A CE seeded from a dual encoder that has a pooler but no classifier (train-ce's case): `copy` takes the
    /// pooler and leaves the classifier as initialised; a pooler of the wrong size is refused, naming the tensor,
    /// instead of being copied unchecked.
    func testCopyTakesADualEncodersPoolerAndChecksItsSize() throws {
        let (dir, m) = try makeTinyCE()
        var de = try BertWeights.load(directory: dir)
        de.classifier = nil
        let ce = TrainableBert(shape: BertShape(config: de.config, classifier: true))
        var rng = SplitMix64(seed: 9)
        ce.initialize(rng: &rng)
        let fresh = ce.parameterArray
        let h = ce.shape.hidden
        func values(_ x: TrainableBert, _ name: String) -> [Float] {
            let e = x.layout.entry(name)!
            return Array(UnsafeBufferPointer(start: x.params + e.offset, count: e.count))
        }
        try ce.copy(from: de, embeddings: false, layers: 0..<0, head: true)
        XCTAssertEqual(values(ce, "pooler.dense.weight"), values(m, "pooler.dense.weight"))
        XCTAssertEqual(values(ce, "pooler.dense.bias"), values(m, "pooler.dense.bias"))
        XCTAssertNotEqual(values(ce, "pooler.dense.weight"), Array(fresh[ce.layout.offset("pooler.dense.weight")...].prefix(h * h)))
        let cls = ce.layout.entry("classifier.weight")!
        XCTAssertEqual(values(ce, "classifier.weight"), Array(fresh[cls.offset..<(cls.offset + cls.count)]), "classifier stays fresh")

        de.pooler = Linear(weight: [Float](repeating: 0, count: (h + 1) * h), bias: [Float](repeating: 0, count: h + 1),
                           outFeatures: h + 1, inFeatures: h)
        let before = ce.parameterArray
        XCTAssertThrowsError(try ce.copy(from: de, embeddings: true, layers: 0..<2, head: true)) { error in
            XCTAssertTrue("\(error)".contains("pooler.dense.weight"), "\(error)")
        }
        XCTAssertTrue(ce.parameterArray == before, "a refused copy changes nothing (not even the tensors checked before the pooler)")
    }

    func testSaveLoadRoundTripIsExact() throws {
        let (dir, m) = try makeTinyCE()
        let template = try BertWeights.load(directory: dir)
        let out = dir.appendingPathComponent("saved-ce")
        try writeModelDirectory(m.bertWeights(template: template), kind: .crossEncoder(maxLength: 16), tokenizerDir: dir, to: out)
        XCTAssertEqual(try BertTokenizer(directory: out).maxLength, 16, "the training length is saved with the CE")
        let back = try BertWeights.load(directory: out)
        let m2 = TrainableBert(shape: BertShape(config: back.config, classifier: true))
        try m2.copy(from: back, embeddings: true, layers: 0..<2, head: true)
        XCTAssertEqual(m2.parameterArray, m.parameterArray)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("vocab.txt").path))

        // the DE-2 CE built from it: embeddings + layer 0 copied, layer 1 fresh; saved as a sentence-transformers DE
        let de = try buildInfusedDualEncoder(source: back, layers: 2, copy: 1, initFrom: .ce, seed: 5)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: de.param("encoder.layer.0.output.dense.weight"), count: 512)),
                       Array(UnsafeBufferPointer(start: m.param("encoder.layer.0.output.dense.weight"), count: 512)))
        XCTAssertNotEqual(Array(UnsafeBufferPointer(start: de.param("encoder.layer.1.output.dense.weight"), count: 512)),
                          Array(UnsafeBufferPointer(start: m.param("encoder.layer.1.output.dense.weight"), count: 512)))
        let deDir = dir.appendingPathComponent("saved-de")
        try writeModelDirectory(de.bertWeights(template: back, pooler: back.pooler), kind: .dualEncoder(maxSeqLength: 32),
                                tokenizerDir: dir, to: deDir)
        let deEnc = try TextEncoder.load(deDir.path)
        XCTAssertEqual(deEnc.kind, .dualEncoder)
        XCTAssertEqual(deEnc.numLayers, 2)
        XCTAssertTrue(deEnc.normalizes, "2_Normalize is picked up")
        let modules = try String(contentsOf: deDir.appendingPathComponent("modules.json"), encoding: .utf8)
        XCTAssertTrue(modules.contains("sentence_transformers.models.Pooling"))
        let pooling = try String(contentsOf: deDir.appendingPathComponent("1_Pooling/config.json"), encoding: .utf8)
        XCTAssertTrue(pooling.contains("\"pooling_mode_mean_tokens\" : true"))
        // DE embeddings from the engine equal the trainable model's mean pooling, normalised
        let texts = ["the cat sat on the mat", "blue sky"]
        let e = try deEnc.embed(texts)
        var batch = PackedBatch()
        for t in texts { let x = deEnc.tokenizer.encode(t); batch.append(ids: x.ids, types: x.typeIds) }
        var rng = SplitMix64(seed: 1)
        let hidden = de.forward(batch, training: false, rng: &rng)
        var pooled = [Float](repeating: 0, count: 2 * 16), normed = pooled, norms: [Float] = [0, 0]
        meanPoolForward(out: &pooled, hidden: hidden, weights: [Float](repeating: 1, count: batch.tokenCount), lengths: batch.lengths, dim: 16)
        l2NormalizeForward(out: &normed, norms: &norms, x: pooled, rows: 2, dim: 16)
        assertClose(normed, e.data, atol: 1e-5, rtol: 1e-4, "DE embedding vs engine")
    }

    func testResumeFromDiskEqualsUninterrupted() throws {
        let (dir, m0) = try makeTinyCE()
        let template = try BertWeights.load(directory: dir)
        let tokenizer = try BertTokenizer(directory: dir)
        let tok = TextTokenizer(single: { let e = tokenizer.encode($0); return (e.ids, e.typeIds) },
                                pair: { let e = tokenizer.encodePair($0, $1); return (e.ids, e.typeIds) })
        let ex = (0..<24).map { i in TrainingExample(query: ["the cat", "a dog", "fish"][i % 3], positive: ["on the mat", "in the park", "sea"][i % 3],
                                                     negatives: [["blue sky", "red ball", "bird fly"][i % 3]]) }
        var o = TrainOptions(); o.objective = .bce; o.batchSize = 4; o.maxSteps = 6; o.lr = 1e-3
        let fresh = { () -> TrainableBert in let m = TrainableBert(shape: m0.shape); m.parameterArray = m0.parameterArray; return m }

        let full = try Trainer(model: fresh(), examples: ex, tokenizer: tok, options: o)
        try full.run()

        let out = dir.appendingPathComponent("run")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let first = try Trainer(model: fresh(), examples: ex, tokenizer: tok, options: o)
        var n = 0
        try first.run(shouldStop: { n += 1; return n == 4 }, checkpoint: { t in
            try saveCheckpoint(t, weights: t.model.bertWeights(template: template), kind: .crossEncoder(maxLength: nil), tokenizerDir: dir, out: out)
        })
        XCTAssertEqual(latestCheckpoint(in: out)?.lastPathComponent, "checkpoint")
        let r = try XCTUnwrap(try resumeFromCheckpoint(out: out, examples: ex, tokenizer: tok, options: o, classifier: true))
        XCTAssertEqual(r.trainer.state.step, 4)
        try r.trainer.run()
        XCTAssertEqual(r.model.parameterArray, full.model.parameterArray, "resumed from disk == uninterrupted")
        var other = o; other.lr = 2e-3
        XCTAssertThrowsError(try resumeFromCheckpoint(out: out, examples: ex, tokenizer: tok, options: other, classifier: true)) {
            XCTAssertTrue(String(describing: $0).contains("different training options"))
        }
    }

    func testInfusionVariantsAndErrors() throws {
        let (dir, m) = try makeTinyCE()
        let src = try BertWeights.load(directory: dir)
        let word = { (x: TrainableBert) in Array(UnsafeBufferPointer(start: x.param("embeddings.word_embeddings.weight"), count: 64)) }
        let random = try buildInfusedDualEncoder(source: src, layers: 2, copy: 1, initFrom: .random, seed: 5)
        XCTAssertNotEqual(word(random), word(m), "random init copies nothing")
        XCTAssertFalse(random.shape.hasClassifier)
        let three = try buildInfusedDualEncoder(source: src, layers: 3, copy: 2, initFrom: .ce, seed: 5)
        XCTAssertEqual(three.shape.layers, 3)
        XCTAssertEqual(word(three), word(m))
        XCTAssertThrowsError(try buildInfusedDualEncoder(source: src, layers: 2, copy: 3, initFrom: .ce, seed: 5)) {
            XCTAssertTrue(String(describing: $0).contains("--copy 3 must be between 0 and --layers 2"))
        }
        XCTAssertThrowsError(try buildInfusedDualEncoder(source: src, layers: 4, copy: 3, initFrom: .ce, seed: 5)) {
            XCTAssertTrue(String(describing: $0).contains("only 2 layers"))
        }
        let a = try buildInfusedDualEncoder(source: src, layers: 2, copy: 1, initFrom: .ce, seed: 9)
        let b = try buildInfusedDualEncoder(source: src, layers: 2, copy: 1, initFrom: .ce, seed: 9)
        XCTAssertEqual(a.parameterArray, b.parameterArray, "same seed, same fresh layers")
    }
}
