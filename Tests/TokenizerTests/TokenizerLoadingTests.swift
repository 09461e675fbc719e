import Foundation
import XCTest
import Tokenizer

/// Loading rules of `BertTokenizer(directory:)`: which file gives which setting, and clear errors.
final class TokenizerLoadingTests: XCTestCase {
    private var dir: URL!
    private let vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world", "##s", "héllo", "!"]

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: dir.appendingPathComponent(name))
    }

    private func writeVocab(_ tokens: [String], separator: String = "\n") throws {
        try write("vocab.txt", tokens.joined(separator: separator) + separator)
    }

    func testMaxLengthPrefersSentenceBertConfigAndIsCappedByPositions() throws {
        try writeVocab(vocab)
        XCTAssertEqual(try BertTokenizer(directory: dir).maxLength, 512, "no setting: 512")
        try write("tokenizer_config.json", #"{"model_max_length": 40}"#)
        XCTAssertEqual(try BertTokenizer(directory: dir).maxLength, 40, "tokenizer_config model_max_length")
        try write("config.json", #"{"max_position_embeddings": 32}"#)
        XCTAssertEqual(try BertTokenizer(directory: dir).maxLength, 32, "capped by max_position_embeddings")
        try write("sentence_bert_config.json", #"{"max_seq_length": 20, "do_lower_case": false}"#)
        XCTAssertEqual(try BertTokenizer(directory: dir).maxLength, 20, "sentence_bert_config max_seq_length wins")
        try write("sentence_bert_config.json", #"{"max_seq_length": 100}"#)
        XCTAssertEqual(try BertTokenizer(directory: dir).maxLength, 32, "still capped by max_position_embeddings")
    }

    func testHugeModelMaxLengthMeansUnset() throws {
        try writeVocab(vocab)
        try write("tokenizer_config.json", #"{"model_max_length": 1000000000000000019884624838656}"#)
        try write("config.json", #"{"max_position_embeddings": 128}"#)
        XCTAssertEqual(try BertTokenizer(directory: dir).maxLength, 128)
    }

    func testEncodeUsesTheLoadedMaxLength() throws {
        try writeVocab(vocab)
        try write("tokenizer_config.json", #"{"model_max_length": 6}"#)
        let t = try BertTokenizer(directory: dir)
        let e = t.encode(String(repeating: "hello world ", count: 10))
        XCTAssertEqual(e.ids, [2, 5, 6, 5, 6, 3])
        let p = t.encodePair("hello hello hello", "world world world")
        XCTAssertEqual(p.ids, [2, 5, 3, 6, 6, 3], "budget 3: first gets 1, second 2 on a tie")
        XCTAssertEqual(p.typeIds, [0, 0, 0, 1, 1, 1])
        XCTAssertEqual(p.specialTokensMask, [1, 0, 1, 0, 0, 1])
    }

    func testVocabularyWithCRLFAndTrailingSpacesAndDuplicates() throws {
        try writeVocab(vocab + ["hello  ", "extra"], separator: "\r\n")
        let t = try BertTokenizer(directory: dir)
        XCTAssertEqual(t.vocabularySize, vocab.count + 2)
        XCTAssertEqual(t.token(5), "hello")
        XCTAssertEqual(t.tokenIds("hello extra worlds"), [10, 11, 6, 7], "duplicate entry: the last id wins")
    }

    func testTokenizerConfigOverridesTokenizerJSONNormalizer() throws {
        let entries = vocab.enumerated().map { "\"\($0.element)\": \($0.offset)" }.joined(separator: ", ")
        try write("tokenizer.json", """
        {"model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                   "max_input_chars_per_word": 5, "vocab": {\(entries)}},
         "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                        "strip_accents": null, "lowercase": true},
         "pre_tokenizer": {"type": "BertPreTokenizer"},
         "added_tokens": [{"id": 3, "content": "[SEP]", "normalized": false, "special": true}]}
        """)
        let lowercasing = try BertTokenizer(directory: dir)
        XCTAssertEqual(lowercasing.tokenize("HÉLLO Worlds!"), ["hello", "[UNK]", "!"], "max_input_chars_per_word 5")
        XCTAssertEqual(lowercasing.tokenize("hello[SEP]world [CLS]"), ["hello", "[SEP]", "world", "[UNK]", "[UNK]", "[UNK]"],
                       "only tokenizer.json's added tokens are matched in the text")
        try write("tokenizer_config.json", #"{"do_lower_case": false}"#)
        let cased = try BertTokenizer(directory: dir)
        XCTAssertEqual(cased.tokenize("HÉLLO héllo hello"), ["[UNK]", "héllo", "hello"],
                       "do_lower_case false: no lower-casing and (strip_accents null) no accent stripping")
    }

    func testMissingVocabularyNamesTheFile() throws {
        XCTAssertThrowsError(try BertTokenizer(directory: dir)) { error in
            guard case let TokenizerError.missingFile(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("vocab.txt"), path)
            XCTAssertTrue("\(error)".contains("tokenizer.json"), "\(error)")
        }
    }

    func testInvalidJSONNamesTheFile() throws {
        try writeVocab(vocab)
        try write("tokenizer_config.json", "{not json")
        XCTAssertThrowsError(try BertTokenizer(directory: dir)) { error in
            guard case let TokenizerError.badFile(path, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("tokenizer_config.json"), path)
        }
    }

    func testMissingSpecialTokenNamesTheFileAndToken() throws {
        try writeVocab(vocab.filter { $0 != "[CLS]" })
        XCTAssertThrowsError(try BertTokenizer(directory: dir)) { error in
            guard case let TokenizerError.badFile(path, reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("vocab.txt"), path)
            XCTAssertTrue(reason.contains("[CLS]"), reason)
        }
    }

    func testUnsupportedNormalizerIsRefused() throws {
        try write("tokenizer.json", #"{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "normalizer": {"type": "NFKC"}}"#)
        XCTAssertThrowsError(try BertTokenizer(directory: dir)) { error in
            guard case let TokenizerError.badFile(path, reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(path.hasSuffix("tokenizer.json"), path)
            XCTAssertTrue(reason.contains("NFKC"), reason)
        }
    }
}
