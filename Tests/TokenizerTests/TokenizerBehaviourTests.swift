import Foundation
import XCTest
import Tokenizer

/// Public API behaviour not covered by the goldens: edge lengths, ids, thread safety.
final class TokenizerBehaviourTests: XCTestCase {
    private func small() throws -> BertTokenizer {
        BertTokenizer(vocabulary: try Fixtures.smallVocabulary(), lowercase: true, stripAccents: nil,
                      tokenizeChineseChars: true, maxLength: 24)
    }

    func testSpecialIdsAndTokens() throws {
        let t = try small()
        XCTAssertEqual([t.padId, t.unkId, t.clsId, t.sepId], [0, 100, 101, 102])
        XCTAssertEqual(t.token(t.clsId), "[CLS]")
        XCTAssertEqual(t.token(-1), "")
        XCTAssertEqual(t.token(Int32(t.vocabularySize)), "")
        XCTAssertEqual(t.id(of: "[SEP]"), 102)
        XCTAssertNil(t.id(of: "no-such-token"))
    }

    func testEmptyAndTinyBudgets() throws {
        let t = try small()
        XCTAssertEqual(t.encode("").ids, [101, 102])
        XCTAssertEqual(t.encode("the cat", maxLength: 2).ids, [101, 102])
        XCTAssertEqual(t.encodePair("the", "cat", maxLength: 3).ids, [101, 102, 102])
        XCTAssertEqual(t.encodePair("", "").ids, [101, 102, 102])
        XCTAssertEqual(t.encodePair("", "").typeIds, [0, 0, 1])
    }

    func testDefaultMaxLengthAppliesToSinglesAndPairs() throws {
        let t = try small()
        let long = String(repeating: "the cat sat on the mat. ", count: 20)
        XCTAssertEqual(t.encode(long).count, 24)
        XCTAssertEqual(t.encodePair(long, long).count, 24)
        XCTAssertEqual(t.encode(long, maxLength: 100).count, 100)
        // Truncating a single text keeps its first tokens.
        XCTAssertEqual(Array(t.encode(long).ids.dropFirst().dropLast()), Array(t.tokenIds(long).prefix(22)))
    }

    func testConcurrentUseGivesTheSameResults() throws {
        let t = try small()
        let texts = (try Fixtures.goldens["texts"] as? [String]) ?? []
        XCTAssertFalse(texts.isEmpty)
        let serial = texts.map { t.encodePair($0, "query " + $0).ids }
        let results = UnsafeMutableBufferPointer<[Int32]>.allocate(capacity: texts.count * 8)
        defer { results.deallocate() }
        _ = results.initialize(from: repeatElement([], count: texts.count * 8))
        DispatchQueue.concurrentPerform(iterations: texts.count * 8) { i in
            let text = texts[i % texts.count]
            results[i] = t.encodePair(text, "query " + text).ids
        }
        for i in 0..<(texts.count * 8) { XCTAssertEqual(results[i], serial[i % texts.count]) }
    }
}
