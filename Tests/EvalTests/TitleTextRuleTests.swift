import Foundation
import XCTest
import Eval
import Formats

/// Eval's BEIR loader and the record reader that `strata embed` and cluster jobs use embed the
/// same string for every document: both go through `TextRecord.joined(title:text:)`.
final class TitleTextRuleTests: XCTestCase {
    func testBEIRLoaderAndRecordReaderGiveTheSameTexts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-rule-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = dir.appendingPathComponent("corpus.jsonl")
        try """
        {"_id": "a", "title": "Title", "text": "text"}
        {"_id": "b", "title": "", "text": "  no title  "}
        {"_id": "c", "text": "absent title\\n"}
        {"_id": "d", "title": " spaced ", "text": " out "}
        {"_id": "e", "title": "Only a title", "text": ""}
        """.write(to: corpus, atomically: true, encoding: .utf8)
        let beir = try BEIRDataset.loadCorpus(corpus)
        let records = try TextRecords.read(corpus.path)
        XCTAssertEqual(beir.map(\.id), records.map(\.id))
        XCTAssertEqual(beir.map(\.embeddingText), records.map(\.text))
        XCTAssertEqual(records.map(\.text), ["Title text", "no title", "absent title", "spaced   out", "Only a title"])
    }
}
