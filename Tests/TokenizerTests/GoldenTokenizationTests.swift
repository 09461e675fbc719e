import Foundation
import XCTest
import Tokenizer

/// Token-for-token comparison with the Hugging Face `tokenizers` package (goldens.json, made by
/// scripts/make_tokenizer_fixtures.py) on hard texts and pairs: the small committed vocabulary in five
/// normalizer settings (always runs) and the real all-MiniLM-L6-v2 tokenizer (skips when absent).
final class GoldenTokenizationTests: XCTestCase {
    private func check(_ tokenizer: BertTokenizer, _ golden: [String: Any], _ name: String) throws {
        let all = try Fixtures.goldens
        let texts = try XCTUnwrap(all["texts"] as? [String])
        let pairs = try XCTUnwrap(all["pairs"] as? [[String]])
        let tokens = try XCTUnwrap(golden["tokens"] as? [[String]])
        let words = try XCTUnwrap(golden["words"] as? [[String]])
        let ids = int32Rows(golden["ids"])
        let encoded = int32Rows(golden["encode"])
        let singleMax = try XCTUnwrap(golden["single_max_length"] as? Int)
        XCTAssertEqual(ids.count, texts.count)
        for (i, text) in texts.enumerated() {
            let label = "\(name) text \(i) \(text.debugDescription.prefix(60))"
            XCTAssertEqual(tokenizer.basicTokenize(text), words[i], "words, \(label)")
            XCTAssertEqual(tokenizer.tokenIds(text), ids[i], "ids, \(label)")
            XCTAssertEqual(tokenizer.tokenize(text), tokens[i], "tokens, \(label)")
            let e = tokenizer.encode(text, maxLength: singleMax)
            XCTAssertEqual(e.ids, encoded[i], "encode(maxLength: \(singleMax)), \(label)")
            XCTAssertEqual(e.typeIds, [Int32](repeating: 0, count: e.ids.count))
            XCTAssertEqual(e.specialTokensMask.count, e.ids.count)
            XCTAssertEqual(e.specialTokensMask.first, 1)
            XCTAssertEqual(e.specialTokensMask.last, 1)
        }
        let pairGoldens = try XCTUnwrap(golden["pair_encodings"] as? [[String: Any]])
        XCTAssertFalse(pairGoldens.isEmpty)
        for g in pairGoldens {
            let p = pairs[try XCTUnwrap(g["pair"] as? Int)]
            let m = try XCTUnwrap(g["max_length"] as? Int)
            let e = tokenizer.encodePair(p[0], p[1], maxLength: m)
            let label = "\(name) pair \(g["pair"]!) max \(m)"
            XCTAssertEqual(e.ids, int32s(g["ids"]), "ids, \(label)")
            XCTAssertEqual(e.typeIds, int32s(g["type_ids"]), "type ids, \(label)")
            XCTAssertEqual(e.specialTokensMask, uint8s(g["special_tokens_mask"]), "special mask, \(label)")
        }
    }

    private func smallGolden(_ name: String) throws -> [String: Any] {
        let configs = try XCTUnwrap(try Fixtures.goldens["configs"] as? [String: Any])
        return try XCTUnwrap(configs[name] as? [String: Any], "no config \(name) in goldens.json")
    }

    private func smallTokenizer(_ golden: [String: Any]) throws -> BertTokenizer {
        BertTokenizer(vocabulary: try Fixtures.smallVocabulary(),
                      lowercase: try XCTUnwrap(golden["lowercase"] as? Bool),
                      stripAccents: optionalBool(golden["strip_accents"]),
                      tokenizeChineseChars: try XCTUnwrap(golden["tokenize_chinese_chars"] as? Bool),
                      maxLength: 512)
    }

    func testSmallVocabularyUncased() throws {
        let g = try smallGolden("small-uncased")
        try check(try smallTokenizer(g), g, "small-uncased")
    }

    func testSmallVocabularyUncasedFromDirectory() throws {
        let g = try smallGolden("small-uncased")
        let tokenizer = try BertTokenizer(directory: Fixtures.directory.appendingPathComponent("small-vocab"))
        XCTAssertEqual(tokenizer.maxLength, 40)  // tokenizer_config.json model_max_length, no config.json
        try check(tokenizer, g, "small-uncased (directory)")
    }

    func testSmallVocabularyCased() throws {
        let g = try smallGolden("small-cased")
        try check(try smallTokenizer(g), g, "small-cased")
    }

    func testSmallVocabularyUncasedKeepingAccents() throws {
        let g = try smallGolden("small-uncased-keep-accents")
        try check(try smallTokenizer(g), g, "small-uncased-keep-accents")
    }

    func testSmallVocabularyCasedStrippingAccents() throws {
        let g = try smallGolden("small-cased-strip-accents")
        try check(try smallTokenizer(g), g, "small-cased-strip-accents")
    }

    func testSmallVocabularyWithoutChineseSplitting() throws {
        let g = try smallGolden("small-no-chinese")
        try check(try smallTokenizer(g), g, "small-no-chinese")
    }

    func testMiniLMTokenizerJSON() throws {
        let dir = try Fixtures.minilmDirectory()
        let g = try XCTUnwrap(try Fixtures.goldens["minilm"] as? [String: Any],
                              "goldens.json has no minilm section: rerun scripts/make-goldens with the model installed")
        let tokenizer = try BertTokenizer(directory: dir)
        XCTAssertEqual(tokenizer.maxLength, 256)  // sentence_bert_config.json max_seq_length
        XCTAssertEqual(tokenizer.vocabularySize, 30522)
        XCTAssertEqual([tokenizer.padId, tokenizer.unkId, tokenizer.clsId, tokenizer.sepId], [0, 100, 101, 102])
        try check(tokenizer, g, "minilm")
    }
}
