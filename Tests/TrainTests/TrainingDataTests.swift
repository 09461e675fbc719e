import XCTest
import Foundation
import Train

final class TrainingDataTests: XCTestCase {
    func write(_ text: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-train-\(UUID().uuidString).jsonl")
        try text.data(using: .utf8)!.write(to: url)
        return url
    }

    func testParsesAllForms() throws {
        let url = try write("""
        {"query": "q1", "positive": "p1"}

        {"query": "q2", "positive": "p2", "negative": "n2"}
        {"query": "q3", "positive": "p3", "negatives": ["a", "b"], "scores": [3.5, 1, -2]}\r
        """)
        let ex = try loadTrainingExamples(url)
        XCTAssertEqual(ex.count, 3)
        XCTAssertEqual(ex[0], TrainingExample(query: "q1", positive: "p1"))
        XCTAssertEqual(ex[1].negatives, ["n2"])
        XCTAssertEqual(ex[2].negatives, ["a", "b"])
        XCTAssertEqual(ex[2].scores, [3.5, 1, -2])
    }

    func testBadLinesNameFileAndLine() throws {
        let cases: [(String, String)] = [
            ("{\"query\": \"q\"}", "missing \"positive\""),
            ("not json", "not valid JSON"),
            ("[1, 2]", "expected a JSON object"),
            ("{\"query\": 3, \"positive\": \"p\"}", "\"query\" must be a string"),
            ("{\"query\": \" \", \"positive\": \"p\"}", "\"query\" is empty"),
            ("{\"query\": \"q\", \"positive\": \"p\", \"negatives\": \"x\"}", "\"negatives\" must be an array"),
            ("{\"query\": \"q\", \"positive\": \"p\", \"negatives\": [\"a\"], \"scores\": [1]}", "\"scores\" has 1 values"),
            ("{\"query\": \"q\", \"positive\": \"p\", \"scores\": [\"x\"]}", "\"scores\" must be an array of numbers"),
        ]
        for (line, message) in cases {
            let url = try write("{\"query\": \"ok\", \"positive\": \"fine\"}\n" + line + "\n")
            XCTAssertThrowsError(try loadTrainingExamples(url)) { e in
                let s = String(describing: e)
                XCTAssertTrue(s.contains("\(url.path):2:"), "names file and line 2: \(s)")
                XCTAssertTrue(s.contains(message), "\(message) in \(s)")
            }
        }
    }

    func testInvalidUTF8AndEmptyFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-bad-\(UUID().uuidString).jsonl")
        try Data([0x7B, 0xFF, 0xFE, 0x7D, 0x0A]).write(to: url)
        XCTAssertThrowsError(try loadTrainingExamples(url)) { XCTAssertTrue(String(describing: $0).contains(":1: invalid UTF-8")) }
        let empty = try write("\n\n")
        XCTAssertThrowsError(try loadTrainingExamples(empty)) { XCTAssertTrue(String(describing: $0).contains("no training examples")) }
    }
}
