import Foundation
import Kernels
import Model
import XCTest

/// The forward pass, pooling and CE head against the NumPy reference, fed the reference's own
/// token ids (so these checks hold independently of the tokenizer). Tolerances: layer
/// embeddings 1e-4 absolute, CE logits 1e-3 absolute (Tests/ModelTests/Fixtures/README.md).
final class EngineGoldenTests: XCTestCase {
    func testLayerEmbeddingsAndScoresMatchReference() throws {
        var checked = 0
        for (name, entry, dir) in try Goldens.load().present() {
            let weights = try BertWeights.load(directory: dir)
            let engine = BertEngine(weights: weights)
            let cross = entry["kind"] as! String == "cross"
            let ids = (entry[cross ? "self_pair_input_ids" : "input_ids"] as! [[Any]]).map { $0.ints }
            let types = cross ? (entry["self_pair_type_ids"] as! [[Any]]).map { $0.ints } : ids.map { [Int32](repeating: 0, count: $0.count) }
            // One mixed-length batch holding every text: results must not depend on batch-mates.
            let batch = PackedBatch(zip(ids, types).map { (ids: $0, types: $1) })
            let layers = entry["layer_embeddings"] as! [String: [[Any]]]
            let h = weights.config.hiddenSize
            var got: [Int: [[Float]]] = [:]
            engine.forward(batch, layers: Set(layers.keys.map { Int($0)! })) { layer, hidden in
                got[layer] = (0..<batch.count).map { b in
                    let include: [Bool] = (0..<batch.lengths[b]).map { j in
                        !cross || !(j == 0 || ids[b][j] == 102 || ids[b][j] == 101)
                    }
                    var v = [Float](repeating: 0, count: h)
                    pool(hidden + batch.offsets[b] * h, hiddenSize: h, include: include, mode: .mean, into: &v)
                    return v
                }
            }
            for (k, rows) in layers {
                for (t, row) in rows.enumerated() {
                    assertClose(got[Int(k)!]![t], row.floats, tol: 1e-4, "\(name) layer \(k) text \(t)")
                }
            }
            if cross {
                let pairIds = (entry["pair_input_ids"] as! [[Any]]).map { $0.ints }
                let pairTypes = (entry["pair_type_ids"] as! [[Any]]).map { $0.ints }
                let pb = PackedBatch(zip(pairIds, pairTypes).map { (ids: $0, types: $1) })
                var logits: [Float] = []
                engine.forward(pb, layers: [weights.config.numHiddenLayers]) { _, hidden in logits = engine.classify(hidden, batch: pb) }
                assertClose(logits, (entry["scores"] as! [Any]).floats, tol: 1e-3, "\(name) scores")
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 2, "the committed tiny checkpoints must always be checked")
    }
}
