import Foundation
import XCTest

/// `strata mine` as a user runs it on a small BEIR folder: every (query, relevant document) pair gets one
/// line whose negatives are the best-ranked unjudged documents, ranked by cosine similarity of
/// `strata embed` vectors (the embedding itself is checked against the NumPy goldens elsewhere);
/// `--skip-top`, `--max-queries` and `--max-corpus` shape the result; bad input fails clearly, writing nothing.
final class MineCLITests: XCTestCase {
    private var tmp: URL!
    private var data: URL!
    private var model: String { CLI.modelFixtures.appendingPathComponent("tiny-de-legacy").path }

    private let docs: [(id: String, title: String, text: String)] = [
        ("d0", "Python", "Python is an interpreted language; install it with apt."),
        ("d1", "", "A man is eating a piece of bread."),
        ("d2", "Rust", "Rust is a systems programming language with a borrow checker."),
        ("d3", "Bread", "Bread is made of flour, water and yeast."),
        ("d4", "", "The stock market crashed on Monday."),
        ("d5", "Mice", "Proteins, cells and the immune response in mice."),
        ("d6", "Fox", "The quick brown fox jumps over the lazy dog."),
        ("d7", "Café", "Café naïve Ångström — déjà vu!"),
    ]
    private let queries: [(id: String, text: String)] = [
        ("q0", "how do I install python"), ("q1", "what do people eat"), ("q2", "immune response"), ("q3", "unjudged query"),
    ]
    /// train: q0 -> d0, q1 -> d1 and d3 (both relevant), q1 -> d4 judged not relevant, q2 -> d5; q3 has no judgement.
    private let qrels = "query-id\tcorpus-id\tscore\nq0\td0\t1\nq1\td1\t1\nq1\td3\t2\nq1\td4\t0\nq2\td5\t1\n"

    override func setUpWithError() throws {
        tmp = try CLI.tempDir()
        data = tmp.appendingPathComponent("beir")
        try FileManager.default.createDirectory(at: data.appendingPathComponent("qrels"), withIntermediateDirectories: true)
        try jsonl(docs.map { ["_id": $0.id, "title": $0.title, "text": $0.text] }).write(to: data.appendingPathComponent("corpus.jsonl"), atomically: true, encoding: .utf8)
        try jsonl(queries.map { ["_id": $0.id, "text": $0.text] }).write(to: data.appendingPathComponent("queries.jsonl"), atomically: true, encoding: .utf8)
        try qrels.write(to: data.appendingPathComponent("qrels/train.tsv"), atomically: true, encoding: .utf8)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    private func jsonl(_ rows: [[String: String]]) throws -> String {
        try rows.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
            .joined(separator: "\n") + "\n"
    }

    private func readLines(_ url: URL) throws -> [[String: Any]] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    /// `strata embed --normalize` of `texts` (jsonl in, jsonl out), in input order.
    private func embed(_ rows: [[String: String]], _ name: String) throws -> [[Double]] {
        let input = tmp.appendingPathComponent("\(name).jsonl"), output = tmp.appendingPathComponent("\(name)-e.jsonl")
        try jsonl(rows).write(to: input, atomically: true, encoding: .utf8)
        let r = try CLI.run(["embed", "--model", model, "--input", input.path, "--output", output.path, "--normalize"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try readLines(output).map { ($0["embedding"] as! [NSNumber]).map(\.doubleValue) }
    }

    /// The text BEIR models embed: title + " " + text (the text alone without a title).
    private func docText(_ i: Int) -> String { docs[i].title.isEmpty ? docs[i].text : docs[i].title + " " + docs[i].text }

    /// The reference ranking: documents of `queryIndex` by descending cosine similarity.
    private func ranking(_ qv: [[Double]], _ dv: [[Double]], _ queryIndex: Int) -> [Int] {
        let s = dv.map { d in zip(qv[queryIndex], d).map { $0 * $1 }.reduce(0, +) }
        return s.indices.sorted { s[$0] > s[$1] }
    }

    func testMinedNegativesAreTheBestRankedUnjudgedDocuments() throws {
        let qv = try embed(queries.map { ["_id": $0.id, "text": $0.text] }, "q")
        let dv = try embed(docs.map { ["_id": $0.id, "title": $0.title, "text": $0.text] }, "d")
        let judged: [String: Set<String>] = ["q0": ["d0"], "q1": ["d1", "d3", "d4"], "q2": ["d5"]]
        let relevant: [String: [String]] = ["q0": ["d0"], "q1": ["d1", "d3"], "q2": ["d5"]]
        for skip in [0, 1] {
            let out = tmp.appendingPathComponent("mined-\(skip).jsonl")
            let r = try CLI.run(["mine", "--model", model, "--data", data.path, "--out", out.path, "--negatives", "2",
                                 "--skip-top", "\(skip)"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stdout.contains("wrote 4 lines"), r.stdout)
            let lines = try readLines(out)
            var want: [(String, String, [String])] = []
            for (qi, q) in queries.enumerated() where relevant[q.id] != nil {
                let negs = ranking(qv, dv, qi).dropFirst(skip).filter { !judged[q.id]!.contains(docs[$0].id) }.prefix(2).map(docText)
                for did in relevant[q.id]! { want.append((q.text, docText(docs.firstIndex { $0.id == did }!), Array(negs))) }
            }
            XCTAssertEqual(lines.count, want.count)
            for (got, w) in zip(lines, want) {
                XCTAssertEqual(got["query"] as? String, w.0)
                XCTAssertEqual(got["positive"] as? String, w.1)
                XCTAssertEqual(got["negatives"] as? [String], w.2, "skip-top \(skip), query \(w.0)")
            }
        }
    }

    func testOutputIsATrainingFileAndCapsAreSeededAndKeepJudgedDocuments() throws {
        let a = tmp.appendingPathComponent("a.jsonl"), b = tmp.appendingPathComponent("b.jsonl")
        for out in [a, b] {
            let r = try CLI.run(["mine", "--model", model, "--data", data.path, "--out", out.path, "--negatives", "1",
                                 "--max-queries", "2", "--max-corpus", "5", "--seed", "7"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("mining 2 of 3 queries against 5 of 8 documents"), r.stderr)
        }
        XCTAssertEqual(try Data(contentsOf: a), try Data(contentsOf: b), "the same seed gives the same file")
        let lines = try readLines(a)
        XCTAssertFalse(lines.isEmpty)
        let allDocTexts = Set(docs.indices.map(docText))
        for line in lines {
            XCTAssertEqual((line["negatives"] as! [String]).count, 1)
            XCTAssertTrue(allDocTexts.contains(line["positive"] as! String))
            XCTAssertNotEqual(line["query"] as? String, "unjudged query", "queries without a relevant document are not mined")
        }
        // What mine writes, infuse reads: a one-step training run on it succeeds.
        let ce = CLI.modelFixtures.appendingPathComponent("tiny-ce").path
        let r = try CLI.run(["infuse", "--ce", ce, "--train", a.path, "--out", tmp.appendingPathComponent("de").path,
                             "--max-steps", "1", "--batch", "2", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testBadInputFailsClearlyAndWritesNothing() throws {
        let out = tmp.appendingPathComponent("never.jsonl")
        var r = try CLI.run(["mine", "--model", model, "--data", data.path])
        XCTAssertEqual(r.status, 2); XCTAssertTrue(r.stderr.contains("--out"), r.stderr)
        r = try CLI.run(["mine", "--model", CLI.modelFixtures.appendingPathComponent("tiny-ce").path, "--data", data.path, "--out", out.path])
        XCTAssertNotEqual(r.status, 0); XCTAssertTrue(r.stderr.contains("is not a dual encoder"), r.stderr)
        r = try CLI.run(["mine", "--model", model, "--data", data.path, "--out", out.path, "--split", "dev"])
        XCTAssertNotEqual(r.status, 0); XCTAssertTrue(r.stderr.contains("dev"), r.stderr)
        r = try CLI.run(["mine", "--model", model, "--data", data.path, "--out", out.path, "--negatives", "0"])
        XCTAssertEqual(r.status, 2); XCTAssertTrue(r.stderr.contains("--negatives"), r.stderr)
        try "{\"_id\": \"d9\", \"text\": \"fine\"}\nnot json\n".write(to: data.appendingPathComponent("corpus.jsonl"), atomically: true, encoding: .utf8)
        r = try CLI.run(["mine", "--model", model, "--data", data.path, "--out", out.path])
        XCTAssertNotEqual(r.status, 0); XCTAssertTrue(r.stderr.contains("corpus.jsonl:2"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "a failed run leaves no output")
    }
}
