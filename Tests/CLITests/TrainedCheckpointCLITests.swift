import Foundation
import XCTest

/// What `strata infuse` and `strata train-ce` write is a Hugging Face / sentence-transformers checkpoint that an
/// independent reader understands: the file set and tensor names of `BertModel` (DE) and
/// `BertForSequenceClassification` (CE), and the NumPy reference (scripts/reference_bert.py, which reads
/// safetensors, config.json, modules.json and 1_Pooling by itself) computes from it the same embeddings and
/// scores as `strata embed` / `strata score`. (scripts/check-hf-compat.py does the same against
/// sentence-transformers and transformers themselves, where torch is installed.)
final class TrainedCheckpointCLITests: XCTestCase {
    private var tmp: URL!
    private var train: URL!
    private let texts = ["how do I install python", "A man is eating a piece of bread.", "Café naïve Ångström — déjà vu!", ""]
    private let pairs = [("how do I install python", "Python is installed with apt."), ("immune response", "The quick brown fox.")]

    override func setUpWithError() throws {
        tmp = try CLI.tempDir()
        train = tmp.appendingPathComponent("train.jsonl")
        let rows = [
            ["query": "how do I install python", "positive": "Python is installed with apt.", "negative": "The stock market crashed."],
            ["query": "what do people eat", "positive": "A man is eating bread.", "negative": "Rust has a borrow checker."],
            ["query": "immune response", "positive": "Proteins and cells in mice.", "negative": "The quick brown fox."],
            ["query": "cafe", "positive": "Café naïve Ångström", "negative": "déjà vu"],
        ]
        let lines = try rows.map { String(decoding: try JSONSerialization.data(withJSONObject: $0), as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n").write(to: train, atomically: true, encoding: .utf8)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    /// Runs scripts/reference_bert.py; skips (saying why) only when python3 with NumPy is missing.
    private func reference(_ args: [String]) throws -> Any {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", CLI.repo.appendingPathComponent("scripts/reference_bert.py").path, "--json"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let stderr = String(decoding: e, as: UTF8.self)
        if p.terminationStatus != 0, stderr.contains("No module named 'numpy'") || p.terminationStatus == 127 {
            throw XCTSkip("NumPy reference unavailable (scripts/setup installs python3-numpy): \(stderr)")
        }
        XCTAssertEqual(p.terminationStatus, 0, stderr)
        return try JSONSerialization.jsonObject(with: o)
    }

    /// Tensor names in a safetensors file's header.
    private func tensorNames(_ url: URL) throws -> Set<String> {
        let d = try Data(contentsOf: url)
        let n = d.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: d[8..<(8 + n)]) as! [String: Any]
        for (k, v) in header where k != "__metadata__" {
            XCTAssertEqual((v as! [String: Any])["dtype"] as? String, "F32", k)
        }
        return Set(header.keys.filter { $0 != "__metadata__" })
    }

    /// BertModel's parameter names for `layers` layers (what transformers' BertModel.state_dict() holds).
    private func bertModelNames(layers: Int, prefix: String) -> Set<String> {
        var s: Set<String> = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
                              "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
                              "pooler.dense.weight", "pooler.dense.bias"]
        for l in 0..<layers {
            for m in ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
                      "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"] {
                s.insert("encoder.layer.\(l).\(m).weight"); s.insert("encoder.layer.\(l).\(m).bias")
            }
        }
        return Set(s.map { prefix + $0 })
    }

    private func json(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    func testInfusedDualEncoderIsASentenceTransformersCheckpoint() throws {
        let out = tmp.appendingPathComponent("de3")
        let r = try CLI.run(["infuse", "--ce", CLI.modelFixtures.appendingPathComponent("tiny-ce").path, "--layers", "2", "--copy", "1",
                             "--train", train.path, "--out", out.path, "--max-steps", "2", "--batch", "2", "--lr", "1e-3", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try tensorNames(out.appendingPathComponent("model.safetensors")), bertModelNames(layers: 2, prefix: ""))
        let config = try json(out.appendingPathComponent("config.json"))
        XCTAssertEqual(config["architectures"] as? [String], ["BertModel"])
        XCTAssertEqual(config["num_hidden_layers"] as? Int, 2)
        let modules = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("modules.json"))) as! [[String: Any]]
        XCTAssertEqual(modules.map { $0["type"] as? String }, ["sentence_transformers.models.Transformer",
                                                               "sentence_transformers.models.Pooling", "sentence_transformers.models.Normalize"])
        XCTAssertEqual(try json(out.appendingPathComponent("1_Pooling/config.json"))["pooling_mode_mean_tokens"] as? Bool, true)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("vocab.txt").path))

        let input = tmp.appendingPathComponent("texts.jsonl"), emb = tmp.appendingPathComponent("e.jsonl")
        let lines = try texts.enumerated().map { String(decoding: try JSONSerialization.data(withJSONObject: ["_id": "\($0.offset)", "text": $0.element]), as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        let e = try CLI.run(["embed", "--model", out.path, "--input", input.path, "--output", emb.path])
        XCTAssertEqual(e.status, 0, e.stderr)
        let got = try String(contentsOf: emb, encoding: .utf8).split(separator: "\n").map {
            ((try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["embedding"] as! [NSNumber]).map(\.doubleValue)
        }
        let want = try reference([out.path] + texts) as! [[Double]]
        XCTAssertEqual(got.count, want.count)
        for (t, (g, w)) in zip(got, want).enumerated() {
            XCTAssertEqual(g.count, 32)
            XCTAssertEqual(zip(g, w).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-4, "text \(t)")
        }
    }

    func testTrainedCrossEncoderIsATransformersCheckpoint() throws {
        let out = tmp.appendingPathComponent("ce")
        let r = try CLI.run(["train-ce", "--init", CLI.modelFixtures.appendingPathComponent("tiny-ce").path, "--train", train.path,
                             "--out", out.path, "--max-steps", "2", "--batch", "2", "--lr", "1e-3", "--threads", "1", "--max-length", "48"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try tensorNames(out.appendingPathComponent("model.safetensors")),
                       bertModelNames(layers: 2, prefix: "bert.").union(["classifier.weight", "classifier.bias"]))
        let config = try json(out.appendingPathComponent("config.json"))
        XCTAssertEqual(config["architectures"] as? [String], ["BertForSequenceClassification"])
        XCTAssertEqual((config["id2label"] as? [String: Any])?.count, 1, "one logit")
        XCTAssertEqual(try json(out.appendingPathComponent("sentence_bert_config.json"))["max_seq_length"] as? Int, 48)

        let input = tmp.appendingPathComponent("pairs.jsonl"), scores = tmp.appendingPathComponent("s.txt")
        let lines = try pairs.map { String(decoding: try JSONSerialization.data(withJSONObject: ["query": $0.0, "passage": $0.1]), as: UTF8.self) }
        try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        let s = try CLI.run(["score", "--model", out.path, "--input", input.path, "--output", scores.path])
        XCTAssertEqual(s.status, 0, s.stderr)
        let got = try String(contentsOf: scores, encoding: .utf8).split(separator: "\n").map { Double($0)! }
        let want = try reference([out.path, "--score"] + pairs.flatMap { [$0.0, $0.1] }) as! [Double]
        XCTAssertEqual(got.count, want.count)
        for (g, w) in zip(got, want) { XCTAssertEqual(g, w, accuracy: 1e-3) }

        // Trained: the weights moved away from the initial checkpoint (the logits differ).
        let initial = try reference([CLI.modelFixtures.appendingPathComponent("tiny-ce").path, "--score"] + pairs.flatMap { [$0.0, $0.1] }) as! [Double]
        XCTAssertGreaterThan(zip(initial, want).map { abs($0 - $1) }.max()!, 1e-3)
    }

    /// One F32 tensor of a safetensors file.
    private func tensor(_ url: URL, _ name: String) throws -> [Float] {
        let d = try Data(contentsOf: url)
        let n = d.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = try JSONSerialization.jsonObject(with: d[8..<(8 + n)]) as! [String: Any]
        let offsets = ((header[name] as! [String: Any])["data_offsets"] as! [Int])
        return d[(8 + n + offsets[0])..<(8 + n + offsets[1])].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    private func std(_ x: [Float]) -> Double {
        let m = x.reduce(0.0) { $0 + Double($1) } / Double(x.count)
        return (x.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / Double(x.count)).squareRoot()
    }

    func testTrainCEFromScratchSharesNoWeightsWithItsInit() throws {
        let initDir = CLI.modelFixtures.appendingPathComponent("tiny-ce")
        var dirs: [URL] = []
        for scratch in [false, true] {
            let out = tmp.appendingPathComponent(scratch ? "scratch" : "copied")
            let r = try CLI.run(["train-ce", "--init", initDir.path, "--train", train.path, "--out", out.path, "--max-steps", "1",
                                 "--batch", "2", "--lr", "1e-5", "--threads", "1"] + (scratch ? ["--from-scratch"] : []))
            XCTAssertEqual(r.status, 0, r.stderr)
            dirs.append(out)
        }
        let name = "bert.encoder.layer.0.attention.self.query.weight"
        let initial = try tensor(initDir.appendingPathComponent("model.safetensors"), name)
        let copied = try tensor(dirs[0].appendingPathComponent("model.safetensors"), name)
        let scratch = try tensor(dirs[1].appendingPathComponent("model.safetensors"), name)
        XCTAssertEqual(zip(initial, copied).map { abs($0 - $1) }.max()!, 0, accuracy: 1e-3, "one small step from the copied weights")
        XCTAssertEqual(std(scratch), 0.02, accuracy: 0.003, "N(0, 0.02) as BERT initialises")
        XCTAssertGreaterThan(std(initial), 0.1, "the fixture's weights are far from N(0, 0.02), so the check can tell them apart")
        XCTAssertEqual(try tensorNames(dirs[1].appendingPathComponent("model.safetensors")),
                       try tensorNames(dirs[0].appendingPathComponent("model.safetensors")), "same checkpoint layout")
    }
}
