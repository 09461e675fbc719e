import Foundation
import Kernels
import Model
import XCTest

/// Corrupt, truncated and mismatched checkpoints fail with errors naming the file and tensor.
final class CheckpointErrorTests: XCTestCase {
    private var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("strata-ckpt-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Goldens.fixtures.appendingPathComponent("tiny-ce"), to: tmp)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    private var weightsPath: String { tmp.appendingPathComponent("model.safetensors").path }

    func testTruncatedFileNamesTheFile() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: weightsPath))
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: weightsPath))
        XCTAssertThrowsError(try BertWeights.load(directory: tmp)) { e in
            guard case ModelError.corruptFile(let f, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(f, weightsPath)
        }
    }

    func testGarbageHeaderIsCorrupt() throws {
        try Data([0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 1, 2, 3]).write(to: URL(fileURLWithPath: weightsPath))
        XCTAssertThrowsError(try BertWeights.load(directory: tmp)) { e in
            guard case ModelError.corruptFile = e else { return XCTFail("\(e)") }
        }
    }

    func testMissingAndMisshapenTensorsAreNamed() throws {
        let w = try BertWeights.load(directory: tmp)
        var tensors = w.namedTensors()
        tensors.removeAll { $0.name == "bert.encoder.layer.1.output.dense.bias" }
        try SafeTensorsFile.write(tensors, to: weightsPath)
        XCTAssertThrowsError(try BertWeights.load(directory: tmp)) { e in
            XCTAssertEqual(e as? ModelError, .missingTensor(file: weightsPath, tensor: "bert.encoder.layer.1.output.dense.bias"))
        }
        tensors = w.namedTensors()
        let i = tensors.firstIndex { $0.name == "bert.pooler.dense.bias" }!
        tensors[i] = (tensors[i].name, [31], Array(tensors[i].data.prefix(31)))
        try SafeTensorsFile.write(tensors, to: weightsPath)
        XCTAssertThrowsError(try BertWeights.load(directory: tmp)) { e in
            XCTAssertEqual(e as? ModelError, .wrongShape(file: weightsPath, tensor: "bert.pooler.dense.bias", expected: [32], got: [31]))
        }
    }

    func testSaveThenLoadRoundTripsEveryTensor() throws {
        let w = try BertWeights.load(directory: tmp)
        let out = tmp.appendingPathComponent("copy")
        try w.save(to: out)
        let back = try BertWeights.load(directory: out)
        let a = w.namedTensors(), b = back.namedTensors()
        XCTAssertEqual(a.map(\.name), b.map(\.name))
        for (x, y) in zip(a, b) { XCTAssertEqual(x.data, y.data, x.name) }
    }

    func testMissingConfigIsNamed() throws {
        try FileManager.default.removeItem(at: tmp.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try TextEncoder.load(tmp.path)) { XCTAssertTrue("\($0)".contains("config.json"), "\($0)") }
    }

    /// A NaN or Inf weight is refused at load, naming the tensor (int8 would otherwise quantize it
    /// into plausible finite embeddings, fp32 and bf16 into NaN ones, both with exit status 0).
    func testNonFiniteWeightIsRefusedByName() throws {
        let w = try BertWeights.load(directory: tmp)
        for bad: Float in [.nan, .infinity] {
            var tensors = w.namedTensors()
            let i = tensors.firstIndex { $0.name == "bert.encoder.layer.0.intermediate.dense.weight" }!
            tensors[i].data[5] = bad
            try SafeTensorsFile.write(tensors, to: weightsPath)
            XCTAssertThrowsError(try BertWeights.load(directory: tmp)) { e in
                guard case ModelError.corruptFile(let f, let reason) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(f, weightsPath)
                XCTAssertTrue(reason.contains("'bert.encoder.layer.0.intermediate.dense.weight'") && reason.contains("element 5"), reason)
            }
        }
    }

    /// Configurations the engine cannot run are refused when loaded, not at the first input: a
    /// position table shorter than the shortest input (a CE's is [CLS] [SEP] [SEP]: 3 tokens), and a
    /// LayerNorm epsilon that is not positive (it gave NaN embeddings).
    func testUnrunnableConfigsAreRefused() throws {
        let path = tmp.appendingPathComponent("config.json")
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: path)) as! [String: Any]
        for (key, value, needle) in [("max_position_embeddings", 2 as Any, "max_position_embeddings 2 is too small"),
                                     ("layer_norm_eps", -1.0 as Any, "layer_norm_eps -1.0 must be a positive"),
                                     ("layer_norm_eps", 0.0 as Any, "layer_norm_eps 0.0 must be a positive")] {
            var c = original
            c[key] = value
            try JSONSerialization.data(withJSONObject: c).write(to: path)
            XCTAssertThrowsError(try BertWeights.load(directory: tmp), key) { XCTAssertTrue("\($0)".contains(needle), "\($0)") }
        }
        var c = original
        c["max_position_embeddings"] = 3
        try JSONSerialization.data(withJSONObject: c).write(to: path)
        XCTAssertThrowsError(try BertWeights.load(directory: tmp)) { e in
            XCTAssertFalse("\(e)".contains("too small"), "3 positions fit a CE's shortest input; the table's shape is what is wrong now: \(e)")
        }
    }

    /// int8 sums u8 x s8 products in int32: a layer wider than 66,311 inputs could overflow them, so
    /// such a model is refused in int8 (it gave cosine -0.9 to fp32 with 140,000), naming the way out.
    func testLayerTooWideForInt8IsRefused() throws {
        XCTAssertEqual(PackedLinear.int8MaxInFeatures, 66_311)
        var w = try BertWeights.load(directory: tmp)
        w.config.intermediateSize = PackedLinear.int8MaxInFeatures + 1   // checked before any layer is built
        XCTAssertThrowsError(try TextEncoder(directory: tmp, weights: w, precision: .int8)) { e in
            XCTAssertTrue("\(e)".contains("66312 inputs is too wide for int8") && "\(e)".contains("--precision bf16"), "\(e)")
        }
    }
}
