import Kernels
import Model
import XCTest
import Train

/// The whole model's loss and every parameter's gradient against the autograd reference
/// (scripts/make-train-goldens -> Fixtures/train_goldens.json; tiny BERT with a CE head, no dropout).
final class ModelGoldenTests: XCTestCase {
    func testWholeModelGradientsMatchAutograd() throws {
        let g = try loadFixture("train_goldens.json")
        let cfg = g["config"] as! [String: Any]
        let int = { (k: String) in (cfg[k] as! NSNumber).intValue }
        let shape = BertShape(vocabSize: int("vocab_size"), maxPositions: int("max_position_embeddings"),
                              typeVocabSize: int("type_vocab_size"), hidden: int("hidden_size"),
                              layers: int("num_hidden_layers"), heads: int("num_attention_heads"),
                              intermediate: int("intermediate_size"),
                              layerNormEps: Float((cfg["layer_norm_eps"] as! NSNumber).doubleValue),
                              hasClassifier: true, numLabels: 1)
        let model = TrainableBert(shape: shape)
        model.hiddenDropout = 0.1   // set, but eval mode must not apply it
        let params = g["params"] as! [String: Any], grads = g["grads"] as! [String: Any]
        XCTAssertEqual(Set(params.keys), Set(model.layout.entries.map(\.name)), "tensor names")
        for e in model.layout.entries {
            let v = floats(params[e.name])
            XCTAssertEqual(v.count, e.count, e.name)
            model.param(e.name).update(from: v, count: e.count)
        }
        let ids = (g["ids"] as! [[Any]]).map { $0.map { Int32(($0 as! NSNumber).intValue) } }
        let types = (g["types"] as! [[Any]]).map { $0.map { Int32(($0 as! NSNumber).intValue) } }
        let batch = PackedBatch(zip(ids, types).map { (ids: $0, types: $1) })
        let h = shape.hidden
        var rng = SplitMix64(seed: 1)

        model.zeroGradients()
        let hidden = model.forward(batch, training: false, rng: &rng)
        var pooled = [Float](repeating: 0, count: batch.count * h)
        meanPoolForward(out: &pooled, hidden: hidden, weights: [Float](repeating: 1, count: batch.tokenCount),
                        lengths: batch.lengths, dim: h)
        assertClose(pooled, floats(g["pooled"]), atol: 1e-5, rtol: 1e-4, "pooled")
        let mnrl = multipleNegativesRankingLoss(anchors: Array(pooled[0..<(2 * h)]), candidates: Array(pooled[(2 * h)...]), dim: h)
        XCTAssertEqual(mnrl.loss, (g["loss_mnrl"] as! NSNumber).doubleValue, accuracy: 1e-4)
        let logitsPtr = model.classifierForward(hidden: hidden, training: false, rng: &rng)
        let logits = Array(UnsafeBufferPointer(start: logitsPtr, count: batch.count))
        assertClose(logits, floats(g["logits"]), atol: 1e-5, rtol: 1e-4, "logits")
        let bce = bceWithLogitsLoss(logits: logits, labels: floats(g["labels"]))
        XCTAssertEqual(bce.loss, (g["loss_bce"] as! NSNumber).doubleValue, accuracy: 1e-5)

        let dHidden = model.hiddenGradient()
        meanPoolBackward(dhidden: dHidden, dout: mnrl.grads[0] + mnrl.grads[1],
                         weights: [Float](repeating: 1, count: batch.tokenCount), lengths: batch.lengths, dim: h)
        model.classifierBackward(dLogits: bce.grads[0], dHidden: dHidden)
        model.backward(dHidden: dHidden)
        // Tolerance per tensor: max |swift - reference| <= 1e-5 + 1e-3 * max |reference|.
        for e in model.layout.entries {
            let got = Array(UnsafeBufferPointer(start: model.grad(e.name), count: e.count))
            assertClose(got, floats(grads[e.name]), atol: 1e-5, rtol: 1e-3, "grad \(e.name)")
        }
    }
}
