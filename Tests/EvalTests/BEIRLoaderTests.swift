import XCTest
import Eval
import Formats

final class BEIRLoaderTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try temporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func makeDataset(corpus: String, queries: String, qrels: String, split: String = "test") throws {
        try write(corpus, to: dir.appendingPathComponent("corpus.jsonl"))
        try write(queries, to: dir.appendingPathComponent("queries.jsonl"))
        try write(qrels, to: dir.appendingPathComponent("qrels/\(split).tsv"))
    }

    func testLoadsJoinsTitleAndReportsUnknownIds() throws {
        try makeDataset(
            corpus: """
            {"_id": "d1", "title": "Title one", "text": "Body one."}
            {"_id": "d2", "title": "", "text": " Body two. "}
            {"_id": 3, "text": "No title key."}

            """,
            queries: """
            {"_id": "q1", "text": "first"}
            {"_id": "q2", "text": "second"}
            {"_id": "q3", "text": "not judged in this split"}
            """,
            qrels: "query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t2\nq2\tmissing\t1\nq9\td1\t1\n")
        let ds = try BEIRDataset.load(directory: dir, split: "test")
        XCTAssertEqual(ds.corpus.map(\.id), ["d1", "d2", "3"])
        XCTAssertEqual(ds.corpus.map(\.embeddingText), ["Title one Body one.", "Body two.", "No title key."])
        XCTAssertEqual(ds.queries.map(\.id), ["q1", "q2"], "only judged queries, file order")
        XCTAssertEqual(ds.qrels["q2"], ["d2": 2, "missing": 1], "unknown documents stay judged")
        XCTAssertEqual(ds.report.unknownQueries, ["q9"])
        XCTAssertEqual(ds.report.unknownDocuments.map { "\($0.query)/\($0.document)" }, ["q2/missing"])
        XCTAssertEqual(ds.report.warnings.count, 2)
    }

    func testMalformedLinesNameFileAndLine() throws {
        try makeDataset(corpus: "{\"_id\": \"d1\", \"text\": \"ok\"}\n{\"_id\": \"d2\", \"text\": \n",
                        queries: "{\"_id\": \"q1\", \"text\": \"x\"}\n", qrels: "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
        XCTAssertThrowsError(try BEIRDataset.load(directory: dir)) { e in
            let err = e as! DataError
            XCTAssertTrue(err.file.hasSuffix("corpus.jsonl")); XCTAssertEqual(err.line, 2)
        }
        try write("{\"_id\": \"d1\", \"text\": \"ok\"}\n{\"_id\": \"d1\", \"text\": \"again\"}\n", to: dir.appendingPathComponent("corpus.jsonl"))
        XCTAssertThrowsError(try BEIRDataset.load(directory: dir)) { e in
            XCTAssertEqual((e as! DataError).line, 2); XCTAssertTrue("\(e)".contains("duplicate"))
        }
        try write("{\"_id\": \"d1\", \"text\": \"ok\"}\n", to: dir.appendingPathComponent("corpus.jsonl"))
        try write("{\"text\": \"no id\"}\n", to: dir.appendingPathComponent("queries.jsonl"))
        XCTAssertThrowsError(try BEIRDataset.load(directory: dir)) { e in
            XCTAssertTrue("\(e)".contains("queries.jsonl:1: missing \"_id\""), "\(e)")
        }
        try write("{\"_id\": \"q1\", \"text\": \"x\"}\n", to: dir.appendingPathComponent("queries.jsonl"))
        try write("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1 d1 1\n", to: dir.appendingPathComponent("qrels/test.tsv"))
        XCTAssertThrowsError(try BEIRDataset.load(directory: dir)) { e in
            XCTAssertTrue("\(e)".contains("test.tsv:3:"), "\(e)")
        }
        try write("query-id\tcorpus-id\tscore\nq1\td1\thigh\n", to: dir.appendingPathComponent("qrels/test.tsv"))
        XCTAssertThrowsError(try BEIRDataset.load(directory: dir)) { e in XCTAssertEqual((e as! DataError).line, 2) }
        XCTAssertThrowsError(try BEIRDataset.load(directory: dir, split: "dev")) { e in
            XCTAssertTrue("\(e)".contains("dev.tsv"), "a missing split names its file: \(e)")
        }
        var bad = Data("{\"_id\": \"q1\", \"text\": \"".utf8); bad.append(0xFF); bad.append(contentsOf: Array("\"}\n".utf8))
        try bad.write(to: dir.appendingPathComponent("queries.jsonl"))
        XCTAssertThrowsError(try BEIRDataset.loadQueries(dir.appendingPathComponent("queries.jsonl"))) { e in
            XCTAssertTrue("\(e)".contains(":1: invalid UTF-8"), "\(e)")
        }
    }

    func testTrecRunRoundTripsAndRanksLikeTrecEval() throws {
        let run: Run = ["q2": [("a", 0.5), ("b", 0.75), ("c", 0.5)], "q1": [("x", 0.1)]]
        let url = dir.appendingPathComponent("run.trec")
        try writeTrecRun(run, queryOrder: ["q2", "q1"], runName: "test", to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertEqual(text, "q2 Q0 b 1 0.75 test\nq2 Q0 c 2 0.5 test\nq2 Q0 a 3 0.5 test\nq1 Q0 x 1 0.1 test\n")
        let back = try readTrecRun(url)
        XCTAssertEqual(back["q2"]!.map(\.0), ["b", "c", "a"])
        XCTAssertEqual(back["q1"]!.first!.1, 0.1)
    }
}
