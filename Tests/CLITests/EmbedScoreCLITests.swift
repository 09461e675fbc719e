import Foundation
import XCTest

/// `strata embed` and `strata score` as a user runs them: outputs against the NumPy goldens,
/// and bad flags / bad input rejected with a message and a non-zero status, leaving no output.
final class EmbedScoreCLITests: XCTestCase {
    private var tmp: URL!
    override func setUpWithError() throws { tmp = try CLI.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    private func golden(_ model: String) throws -> [String: Any] {
        let data = try Data(contentsOf: CLI.modelFixtures.appendingPathComponent("goldens.json"))
        return (try JSONSerialization.jsonObject(with: data) as! [String: Any])[model] as! [String: Any]
    }

    /// Reads a float32 [n, d] .npy written by strata (v1 header).
    private func readNpy(_ url: URL) throws -> (shape: [Int], data: [Float]) {
        let d = try Data(contentsOf: url)
        let hlen = Int(d[8]) | Int(d[9]) << 8
        let header = String(decoding: d[10..<(10 + hlen)], as: UTF8.self)
        XCTAssertTrue(header.contains("'descr': '<f4'"), header)
        let shape = header.components(separatedBy: "(")[1].components(separatedBy: ")")[0]
            .split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let body = d[(10 + hlen)...]
        let floats = body.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (shape, floats)
    }

    func testEmbedCrossEncoderLayerToNpyMatchesReference() throws {
        let g = try golden("tiny-ce")
        let texts = g["texts"] as! [String]
        // Texts with newlines cannot go in a .txt file: use jsonl.
        let lines = try texts.enumerated().map { i, t in
            String(decoding: try JSONSerialization.data(withJSONObject: ["_id": "d\(i)", "text": t]), as: UTF8.self)
        }
        let input = tmp.appendingPathComponent("in.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        let out = tmp.appendingPathComponent("e.npy")
        let r = try CLI.run(["embed", "--model", CLI.modelFixtures.appendingPathComponent("tiny-ce").path, "--layer", "1",
                             "--input", input.path, "--output", out.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let (shape, data) = try readNpy(out)
        XCTAssertEqual(shape, [texts.count, 32])
        let want = (g["layer_embeddings"] as! [String: [[Any]]])["1"]!
        for t in 0..<texts.count {
            for k in 0..<32 {
                XCTAssertEqual(data[t * 32 + k], Float((want[t][k] as! NSNumber).doubleValue), accuracy: 1e-4, "text \(t) dim \(k)")
            }
        }
    }

    func testEmbedJsonlOutputCarriesIds() throws {
        let input = tmp.appendingPathComponent("in.txt")
        try "first line\nsecond line\n".write(to: input, atomically: true, encoding: .utf8)
        let out = tmp.appendingPathComponent("e.jsonl")
        let r = try CLI.run(["embed", "--model", CLI.modelFixtures.appendingPathComponent("tiny-de-legacy").path,
                             "--input", input.path, "--output", out.path, "--normalize"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(rows.map { $0["_id"] as! String }, ["1", "2"])
        let v = (rows[0]["embedding"] as! [NSNumber]).map { $0.doubleValue }
        XCTAssertEqual(v.count, 32)
        XCTAssertEqual(v.map { $0 * $0 }.reduce(0, +), 1, accuracy: 1e-4, "--normalize gives unit vectors")
    }

    /// More texts than one streaming chunk (4,096): every row lands in order, equal to the same text
    /// embedded in a small run (1e-5: OpenBLAS may pick other kernels for other batch heights).
    func testEmbedStreamsAcrossChunks() throws {
        let model = CLI.modelFixtures.appendingPathComponent("tiny-de-legacy").path
        let texts = (0..<4_200).map { "text number \($0) about \(["cells", "python", "bread", "mice"][$0 % 4])" }
        let input = tmp.appendingPathComponent("many.txt"), out = tmp.appendingPathComponent("many.npy")
        try (texts.joined(separator: "\n") + "\n").write(to: input, atomically: true, encoding: .utf8)
        var r = try CLI.run(["embed", "--model", model, "--input", input.path, "--output", out.path, "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let (shape, data) = try readNpy(out)
        XCTAssertEqual(shape, [4_200, 32])
        let probe = [0, 4_095, 4_096, 4_199]
        let small = tmp.appendingPathComponent("probe.txt"), smallOut = tmp.appendingPathComponent("probe.npy")
        try (probe.map { texts[$0] }.joined(separator: "\n") + "\n").write(to: small, atomically: true, encoding: .utf8)
        r = try CLI.run(["embed", "--model", model, "--input", small.path, "--output", smallOut.path, "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let (_, want) = try readNpy(smallOut)
        for (j, i) in probe.enumerated() {
            for k in 0..<32 { XCTAssertEqual(data[i * 32 + k], want[j * 32 + k], accuracy: 1e-5, "text \(i) dim \(k)") }
        }
    }

    func testScoreMatchesReference() throws {
        let g = try golden("tiny-ce")
        let pairs = (g["pairs"] as! [[String]]).filter { !$0[0].contains("\t") && !$0[1].contains("\t") && !$0[0].contains("\n") && !$0[1].contains("\n") }
        let lines = pairs.map { String(decoding: try! JSONSerialization.data(withJSONObject: ["query": $0[0], "passage": $0[1]]), as: UTF8.self) }
        let input = tmp.appendingPathComponent("pairs.jsonl")
        try lines.joined(separator: "\n").write(to: input, atomically: true, encoding: .utf8)
        let out = tmp.appendingPathComponent("scores.txt")
        let r = try CLI.run(["score", "--model", CLI.modelFixtures.appendingPathComponent("tiny-ce").path,
                             "--input", input.path, "--output", out.path, "--sigmoid"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let got = try String(contentsOf: out, encoding: .utf8).split(separator: "\n").map { Float($0)! }
        let allPairs = g["pairs"] as! [[String]]
        let want = (g["sigmoid_scores"] as! [NSNumber]).map { $0.floatValue }
        let expected = pairs.map { p in want[allPairs.firstIndex { $0 == p }!] }
        XCTAssertEqual(got.count, expected.count)
        for (a, b) in zip(got, expected) { XCTAssertEqual(a, b, accuracy: 1e-3) }
    }

    func testBadFlagsAndInputsFailClearlyAndWriteNothing() throws {
        let model = CLI.modelFixtures.appendingPathComponent("tiny-ce").path
        let out = tmp.appendingPathComponent("o.npy")
        var r = try CLI.run(["embed", "--model", model, "--input", "x.txt", "--output", out.path, "--bogus"])
        XCTAssertEqual(r.status, 2); XCTAssertTrue(r.stderr.contains("unknown flag --bogus"), r.stderr)
        r = try CLI.run(["embed", "--model", model, "--output", out.path])
        XCTAssertEqual(r.status, 2); XCTAssertTrue(r.stderr.contains("--input"), r.stderr)
        r = try CLI.run(["embed", "--model", model, "--input", "x.txt", "--output", out.path, "--layer", "7"])
        XCTAssertNotEqual(r.status, 0); XCTAssertTrue(r.stderr.contains("layers 0...2"), r.stderr)
        let bad = tmp.appendingPathComponent("bad.txt")
        try (Data("fine\nalso fine\n".utf8) + Data([0xFF, 0xFE, 0x0A])).write(to: bad)
        r = try CLI.run(["embed", "--model", model, "--input", bad.path, "--output", out.path])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.stderr.contains("bad.txt:3: invalid UTF-8"), r.stderr)
        r = try CLI.run(["embed", "--model", tmp.appendingPathComponent("nope").path, "--input", bad.path, "--output", out.path])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.stderr.contains("unknown model"), r.stderr)
        let tsv = tmp.appendingPathComponent("p.tsv")
        try "q\tp\nno tab here\n".write(to: tsv, atomically: true, encoding: .utf8)
        r = try CLI.run(["score", "--model", model, "--input", tsv.path, "--output", tmp.appendingPathComponent("s.txt").path])
        XCTAssertEqual(r.status, 1); XCTAssertTrue(r.stderr.contains("p.tsv:2: expected query<TAB>passage"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a failed run leaves no output")
        XCTAssertFalse(FileManager.default.fileExists(atPath: tmp.appendingPathComponent("s.txt").path))
    }

    func testHelpEverywhere() throws {
        for cmd in ["embed", "score", "bench"] {
            let r = try CLI.run([cmd, "--help"])
            XCTAssertEqual(r.status, 0)
            XCTAssertTrue(r.stdout.contains("usage: strata \(cmd)"), r.stdout)
        }
        let r = try CLI.run(["frobnicate"])
        XCTAssertEqual(r.status, 2); XCTAssertTrue(r.stderr.contains("unknown command 'frobnicate'"))
    }
}
