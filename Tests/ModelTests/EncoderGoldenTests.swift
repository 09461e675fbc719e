import Foundation
import Kernels
import Model
import XCTest

/// The whole path, text in, vectors and scores out (tokenizer + engine + pooling + heads),
/// against the NumPy reference (tolerances in Fixtures/README.md).
final class EncoderGoldenTests: XCTestCase {
    func testEncoderMatchesReferenceEndToEnd() throws {
        var checked = 0
        for (name, entry, dir) in try Goldens.load().present() {
            let enc = try TextEncoder.load(dir.path)
            enc.batchSize = 3   // several batches of mixed lengths
            let texts = entry["texts"] as! [String]
            let cross = entry["kind"] as! String == "cross"
            XCTAssertEqual(enc.kind, cross ? .crossEncoder : .dualEncoder, name)
            XCTAssertEqual(enc.tokenizer.maxLength, entry["max_length"] as! Int, "\(name) max length")
            for (t, text) in texts.enumerated() {
                XCTAssertEqual(enc.tokenizer.encode(text).ids, (entry["input_ids"] as! [[Any]])[t].ints, "\(name) ids of text \(t)")
                if cross {
                    let pair = enc.tokenizer.encodePair(text, text)
                    XCTAssertEqual(pair.ids, (entry["self_pair_input_ids"] as! [[Any]])[t].ints, "\(name) self-pair ids \(t)")
                    XCTAssertEqual(pair.typeIds, (entry["self_pair_type_ids"] as! [[Any]])[t].ints, "\(name) self-pair types \(t)")
                }
            }
            for (k, rows) in entry["layer_embeddings"] as! [String: [[Any]]] {
                let m = try enc.embed(texts, layer: Int(k)!)
                for t in 0..<texts.count { assertClose(m.row(t), rows[t].floats, tol: 1e-4, "\(name) layer \(k) text \(t)") }
            }
            if cross {
                let pairs = (entry["pairs"] as! [[String]]).map { ($0[0], $0[1]) }
                assertClose(try enc.score(pairs), (entry["scores"] as! [Any]).floats, tol: 1e-3, "\(name) scores")
                assertClose(try enc.score(pairs, sigmoid: true), (entry["sigmoid_scores"] as! [Any]).floats, tol: 1e-3, "\(name) sigmoid")
            } else {
                XCTAssertEqual(enc.defaultPooling.rawValue, entry["pooling"] as! String, name)
                XCTAssertEqual(enc.normalizes, entry["normalize"] as! Bool, name)
                let m = try enc.embed(texts)
                for t in 0..<texts.count { assertClose(m.row(t), (entry["embeddings"] as! [[Any]])[t].floats, tol: 1e-4, "\(name) embedding \(t)") }
            }
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 2)
    }

    func testTextGivesSameVectorAloneAsInMixedBatch() throws {
        let enc = try TextEncoder.load(Goldens.fixtures.appendingPathComponent("tiny-ce").path)
        let texts = ["short", "a much longer text with many more words in it than the others", "", "mid length text here"]
        let together = try enc.embed(texts, layer: 1)
        for (i, t) in texts.enumerated() {
            // BLAS may pick other kernels for other matrix heights, so equal up to rounding only.
            assertClose(try enc.embed([t], layer: 1).row(0), together.row(i), tol: 1e-5, "text \(i) alone vs batched")
        }
    }

    func testBatchSplitOverCoresMatchesOneThread() throws {
        let enc = try TextEncoder.load(Goldens.fixtures.appendingPathComponent("tiny-ce").path)
        let texts = (0..<11).map { i in String(repeating: "word\(i) ", count: 1 + (i * 7) % 13) }
        enc.engine.parallelism = .serial
        let single = try enc.embedAllLayers(texts)
        let singleScores = try enc.score(texts.map { ($0, "passage of text") })
        enc.engine.parallelism = Parallelism(threads: 2)   // batches of >= 4 sequences are split into two groups, one per thread
        let split = try enc.embedAllLayers(texts)
        let splitScores = try enc.score(texts.map { ($0, "passage of text") })
        for (a, b) in zip(single, split) { assertClose(a.data, b.data, tol: 1e-5, "layer embeddings, split vs one thread") }
        assertClose(splitScores, singleScores, tol: 1e-5, "scores, split vs one thread")
    }

    func testLayerOutOfRangeAndScoringWithDualEncoderAreClearErrors() throws {
        let de = try TextEncoder.load(Goldens.fixtures.appendingPathComponent("tiny-de-legacy").path)
        XCTAssertThrowsError(try de.embed(["x"], layer: 3)) { XCTAssertTrue("\($0)".contains("layers 0...2"), "\($0)") }
        XCTAssertThrowsError(try de.score([("q", "p")])) { XCTAssertTrue("\($0)".contains("dual encoder"), "\($0)") }
    }
}
