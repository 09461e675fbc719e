import XCTest
import Cluster
import Wire

/// A worker re-uses a shard store on disk only for the same model and the same documents.
final class WorkerStoreTests: XCTestCase {
    var dir: URL!
    override func setUp() { dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-wstore-\(UUID().uuidString)") }
    override func tearDown() { try? FileManager.default.removeItem(at: dir) }

    /// A fresh worker process (new service and engine) over `dir`: loads "de" from `model`,
    /// is assigned shard 0 with `docs`; returns how many embed calls that took.
    func assign(model: String, docs: [Document], precision: String = "fp32", file: StaticString = #filePath, line: UInt = #line) -> Int {
        let engine = HashEngine()
        engine.precisionName = precision
        let w = WorkerService(engine: engine, dataDir: dir)
        let load = w.handle(Envelope(requestID: 1, body: .loadModelRequest(LoadModelRequest(name: "de", path: model))), now: 0)
        XCTAssertEqual(load?.status?.code, .ok, file: file, line: line)
        let r = w.handle(Envelope(requestID: 2, body: .assignShardRequest(AssignShardRequest(shardID: 0, model: "de", firstDocIndex: 5, documents: docs))), now: 0)
        guard case .assignShardReply(let a)? = r?.body else { XCTFail("no assign reply: \(String(describing: r))", file: file, line: line); return -1 }
        XCTAssertEqual(a.count, docs.count, file: file, line: line)
        // whatever was re-used or written answers for these texts
        let q = HashEngine.vector(docs[0].text)
        XCTAssertEqual(w.stores[0]?.search(q, k: docs.count), SimCluster.bruteForce(docs, docs[0].text, k: docs.count).map {
            Hit(docIndex: $0.docIndex + 5, docID: $0.docID, score: $0.score)
        }, file: file, line: line)
        return engine.embedCalls
    }

    func testStoreIsReusedOnlyForTheSameModelAndTexts() {
        let docs = makeCorpus(12)
        XCTAssertEqual(assign(model: "/models/de-a", docs: docs), 1, "first assignment embeds")
        XCTAssertEqual(assign(model: "/models/de-a", docs: docs), 0, "same model, same documents: re-used")
        XCTAssertEqual(assign(model: "/models/de-b", docs: docs), 1, "another model: re-embedded")
        XCTAssertEqual(assign(model: "/models/de-b", docs: docs), 0)
        var edited = docs
        edited[3] = Document(id: docs[3].id, text: docs[3].text + " changed")
        XCTAssertEqual(assign(model: "/models/de-b", docs: edited), 1, "same ids, another text: re-embedded")
        XCTAssertEqual(assign(model: "/models/de-b", docs: edited), 0)
    }

    /// A store embedded in fp32 is not re-used by a worker restarted in int8 (nor the other way):
    /// the precision is part of the model's fingerprint.
    func testStoreIsNotReusedInAnotherPrecision() {
        let docs = makeCorpus(6)
        XCTAssertEqual(assign(model: "/models/de-a", docs: docs), 1)
        XCTAssertEqual(assign(model: "/models/de-a", docs: docs, precision: "int8"), 1, "int8 after fp32: re-embedded")
        XCTAssertEqual(assign(model: "/models/de-a", docs: docs, precision: "int8"), 0)
        XCTAssertEqual(assign(model: "/models/de-a", docs: docs, precision: "bf16"), 1)
        XCTAssertEqual(assign(model: "/models/de-a", docs: docs), 1, "back to fp32: re-embedded")
    }

    func testModelFingerprintSeesTheWeights() throws {
        let m = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: m, withIntermediateDirectories: true)
        try Data("{\"hidden_size\": 8}".utf8).write(to: m.appendingPathComponent("config.json"))
        let header = Array("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}".utf8)
        var st = Data(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header)
        st.append(contentsOf: [UInt8](repeating: 1, count: 16))
        try st.write(to: m.appendingPathComponent("model.safetensors"))
        let a = StoreFingerprint.model(path: m.path)
        XCTAssertEqual(StoreFingerprint.model(path: m.path), a, "deterministic")
        st[st.count - 1] = 2
        try st.write(to: m.appendingPathComponent("model.safetensors"))
        XCTAssertNotEqual(StoreFingerprint.model(path: m.path), a, "another weight value")
        try Data("{\"hidden_size\": 16}".utf8).write(to: m.appendingPathComponent("config.json"))
        let b = StoreFingerprint.model(path: m.path)
        XCTAssertNotEqual(b, a)
        let copy = dir.appendingPathComponent("copy")
        try FileManager.default.copyItem(at: m, to: copy)
        XCTAssertEqual(StoreFingerprint.model(path: copy.path), b, "the same files under another path are the same model")
        XCTAssertNotEqual(StoreFingerprint.texts(["ab", "c"]), StoreFingerprint.texts(["a", "bc"]))
    }

    /// Issue 12 fault 8: a model named by a name (here one in $STRATA_MODELS) is fingerprinted by
    /// the files it resolves to, so another model installed under the same name re-embeds instead
    /// of re-using the old model's vectors (the fingerprint used to hash the name only).
    func testAnotherModelUnderTheSameNameIsNotReused() throws {
        let models = dir.appendingPathComponent("models"), m = models.appendingPathComponent("my-model")
        try FileManager.default.createDirectory(at: m, withIntermediateDirectories: true)
        let old = ProcessInfo.processInfo.environment["STRATA_MODELS"]
        setenv("STRATA_MODELS", models.path, 1)
        defer { if let old { setenv("STRATA_MODELS", old, 1) } else { unsetenv("STRATA_MODELS") } }
        func install(weight: UInt8) throws {
            try Data("{\"hidden_size\": 8}".utf8).write(to: m.appendingPathComponent("config.json"))
            let header = Array("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}".utf8)
            var st = Data(withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) } + header)
            st.append(contentsOf: [UInt8](repeating: weight, count: 16))
            try st.write(to: m.appendingPathComponent("model.safetensors"))
        }
        let docs = makeCorpus(8)
        try install(weight: 1)
        XCTAssertEqual(assign(model: "my-model", docs: docs), 1, "first assignment embeds")
        XCTAssertEqual(assign(model: "my-model", docs: docs), 0, "same model files: re-used")
        try install(weight: 2)
        XCTAssertEqual(assign(model: "my-model", docs: docs), 1, "another model under the same name: re-embedded, not the stale vectors")
    }
}
