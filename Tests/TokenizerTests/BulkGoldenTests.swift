import Foundation
import XCTest
import Tokenizer

/// 200 real SciFact abstracts (title + " " + text) against the ids of the `tokenizers` package
/// (scifact_ids.json): catches rare cases the hand-written texts miss.
final class BulkGoldenTests: XCTestCase {
    func testSciFactSampleMatchesReference() throws {
        let dir = try Fixtures.minilmDirectory()
        let corpus = try Fixtures.sharedDirectory().appendingPathComponent("data/scifact/corpus.jsonl")
        guard FileManager.default.fileExists(atPath: corpus.path) else {
            throw XCTSkip("SciFact corpus not found at \(corpus.path)")
        }
        let golden = try Fixtures.json("scifact_ids.json")
        let docIds = try XCTUnwrap(golden["doc_ids"] as? [String])
        let ids = int32Rows(golden["ids"])
        XCTAssertEqual(docIds.count, 200)

        var texts: [String: String] = [:]
        let wanted = Set(docIds)
        for line in try String(contentsOf: corpus, encoding: .utf8).split(separator: "\n") {
            guard let doc = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = doc["_id"] as? String, wanted.contains(id) else { continue }
            texts[id] = ((doc["title"] as? String) ?? "") + " " + ((doc["text"] as? String) ?? "")
        }
        let tokenizer = try BertTokenizer(directory: dir)
        var mismatches = 0
        for (docId, want) in zip(docIds, ids) {
            let text = try XCTUnwrap(texts[docId], "document \(docId) not in \(corpus.path)")
            let got = tokenizer.tokenIds(text)
            if got != want {
                mismatches += 1
                let at = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
                XCTFail("doc \(docId): first difference at token \(at) (got \(got.count) tokens, want \(want.count))")
            }
        }
        XCTAssertEqual(mismatches, 0)
    }
}
