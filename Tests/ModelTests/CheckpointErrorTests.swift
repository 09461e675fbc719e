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
}
