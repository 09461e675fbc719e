import XCTest
import Foundation
import Model
import Eval

/// The sweep end to end on real data (SciFact, the first 10 judged test queries and 60 documents)
/// with the real all-MiniLM-L6-v2: every layer's metrics against scripts/eval_layers_reference.py
/// (the NumPy float64 BERT of scripts/reference_bert.py + NumPy exact search + pytrec_eval),
/// committed as Fixtures/scifact-layers-de.json. Skips, saying why, without the model or the data.
final class LayerSweepModelTests: XCTestCase {
    static func modelDirectory() throws -> URL {
        let root = ProcessInfo.processInfo.environment["STRATA_MODELS"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/strata/models").path
        let dir = URL(fileURLWithPath: root).appendingPathComponent("all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) else {
            throw XCTSkip("all-MiniLM-L6-v2 not installed at \(dir.path) (run scripts/setup or set STRATA_MODELS)")
        }
        return dir
    }

    static func scifact(file: String = #filePath) throws -> URL {
        let shared = ProcessInfo.processInfo.environment["STRATA_SHARED"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
        let dir = shared.appendingPathComponent("data/scifact")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("corpus.jsonl").path) else {
            throw XCTSkip("SciFact not found at \(dir.path) (set STRATA_SHARED to the shared folder)")
        }
        return dir
    }

    struct Reference: Decodable {
        struct Layer: Decodable {
            var layer: Int
            var ndcg: Double, mrr: Double, recall: Double
            enum CodingKeys: String, CodingKey { case layer, ndcg = "nDCG@10", mrr = "MRR@10", recall = "Recall@100" }
        }
        var queries: Int, corpus: Int
        var layers: [Layer]
    }

    func testEveryLayerMatchesTheNumPyReference() throws {
        #if DEBUG
        throw XCTSkip("runs in release builds (scripts/test: swift test -c release); the unoptimised engine needs minutes for 70 texts")
        #endif
        let modelDir = try Self.modelDirectory(), data = try Self.scifact()
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: fixtureURL("scifact-layers-de.json")))
        let ds = try BEIRDataset.load(directory: data, split: "test").subsampled(maxCorpus: 60, maxQueries: 10)
        XCTAssertEqual(ds.queries.count, ref.queries); XCTAssertEqual(ds.corpus.count, ref.corpus)
        let enc = try TextEncoder.load(modelDir.path)
        let q = try enc.embedAllLayers(ds.queries.map(\.text), pooling: .mean, normalize: true)
        let d = try enc.embedAllLayers(ds.corpus.map(\.embeddingText), pooling: .mean, normalize: true)
        let (metrics, _) = LayerSweep.evaluateLayers(dataset: ds, queryLayers: q, docLayers: d)
        XCTAssertEqual(metrics.count, ref.layers.count)
        // float32 engine vs float64 reference: equal rankings, so equal metrics (to summation order).
        for (m, r) in zip(metrics, ref.layers) {
            XCTAssertEqual(m["nDCG@10"]!, r.ndcg, accuracy: 1e-9, "layer \(r.layer)")
            XCTAssertEqual(m["MRR@10"]!, r.mrr, accuracy: 1e-9, "layer \(r.layer)")
            XCTAssertEqual(m["Recall@100"]!, r.recall, accuracy: 1e-9, "layer \(r.layer)")
        }
    }
}
