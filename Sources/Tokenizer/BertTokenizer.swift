/// BERT tokenizer for uncased (and cased) WordPiece models, token for token identical to Hugging Face
/// `tokenizers` (BertNormalizer + BertPreTokenizer + WordPiece + BERT post-processing).
///
/// Thread-safe: immutable after init; every call uses its own scratch buffers.
public final class BertTokenizer: Sendable {
    /// Id -> token string.
    public let vocabulary: [String]
    /// Default max length of `encode`/`encodePair` (special tokens included).
    public let maxLength: Int
    public let padId: Int32
    public let clsId: Int32
    public let sepId: Int32
    public let unkId: Int32
    let pipeline: Pipeline

    /// Number of entries of the vocabulary.
    public var vocabularySize: Int { vocabulary.count }

    /// A tokenizer from an in-memory vocabulary (line i = id i) with the standard BERT special tokens
    /// `[PAD]`, `[UNK]`, `[CLS]`, `[SEP]` (which must be in the vocabulary; `[MASK]` is matched when present).
    /// - Parameters:
    ///   - stripAccents: nil follows `lowercase`, as in Hugging Face.
    public convenience init(vocabulary: [String], lowercase: Bool, stripAccents: Bool?, tokenizeChineseChars: Bool,
                            maxLength: Int) {
        try! self.init(vocabulary: vocabulary,
                       options: NormalizerOptions(cleanText: true, handleChineseChars: tokenizeChineseChars,
                                                  stripAccents: stripAccents ?? lowercase, lowercase: lowercase),
                       specialTokens: SpecialTokens(), continuationPrefix: "##", maxInputCharsPerWord: 100,
                       addedTokens: nil, maxLength: maxLength, source: "vocabulary")
    }

    init(vocabulary: [String], options: NormalizerOptions, specialTokens: SpecialTokens, continuationPrefix: String,
         maxInputCharsPerWord: Int, addedTokens: [(String, Int32)]?, maxLength: Int, source: String) throws {
        // Special tokens are ASCII, so String's canonical-equivalence comparison is exact for them.
        var index: [String: Int32] = [:]
        index.reserveCapacity(vocabulary.count)
        for (i, t) in vocabulary.enumerated() { index[t] = Int32(i) }
        func id(_ token: String, _ role: String) throws -> Int32 {
            guard let id = index[token] else {
                throw TokenizerError.badFile(source, "the \(role) token \"\(token)\" is not in the vocabulary")
            }
            return id
        }
        self.vocabulary = vocabulary
        self.maxLength = maxLength
        padId = try id(specialTokens.pad, "padding")
        clsId = try id(specialTokens.cls, "classifier")
        sepId = try id(specialTokens.sep, "separator")
        unkId = try id(specialTokens.unk, "unknown")
        let added = addedTokens ?? specialTokens.all.compactMap { t in index[t].map { (t, $0) } }
        pipeline = Pipeline(vocabulary: vocabulary, options: options, unkId: unkId,
                            continuationPrefix: continuationPrefix, maxInputCharsPerWord: maxInputCharsPerWord,
                            addedTokens: added)
    }

    /// WordPiece tokens of `text`, without [CLS]/[SEP] (unknown words as the unknown token, "[UNK]").
    public func tokenize(_ text: String) -> [String] {
        tokenIds(text).map { token($0) }
    }

    /// The words of `text` after BertNormalizer and BertPreTokenizer, before WordPiece (Hugging Face's
    /// "basic tokenizer": cleaned, CJK split, accents stripped, lower-cased, punctuation split).
    /// Special tokens written in the text (e.g. "[SEP]") are kept verbatim, as one word.
    public func basicTokenize(_ text: String) -> [String] {
        pipeline.words(text)
    }

    /// WordPiece ids of `text`, without [CLS]/[SEP], not truncated.
    public func tokenIds(_ text: String) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(text.utf8.count / 3 + 4)
        pipeline.appendIds(text, to: &out)
        return out
    }

    /// `[CLS] text [SEP]`, the text truncated (on the right) so that the whole fits `maxLength`
    /// (default: the tokenizer's `maxLength`).
    public func encode(_ text: String, maxLength: Int? = nil) -> Encoding {
        let budget = max(0, (maxLength ?? self.maxLength) - 2)
        var ids: [Int32] = [clsId]
        ids.reserveCapacity(min(budget, text.utf8.count / 3 + 4) + 2)
        pipeline.appendIds(text, to: &ids, limit: budget + 1)
        if ids.count > budget + 1 { ids.removeSubrange((budget + 1)...) }
        ids.append(sepId)
        var mask = [UInt8](repeating: 0, count: ids.count)
        mask[0] = 1
        mask[ids.count - 1] = 1
        return Encoding(ids: ids, typeIds: [Int32](repeating: 0, count: ids.count), specialTokensMask: mask)
    }

    /// `[CLS] a [SEP] b [SEP]` with type ids 0 for `[CLS] a [SEP]` and 1 for `b [SEP]`, truncated to
    /// `maxLength` (default: the tokenizer's) with Hugging Face's "longest_first" strategy.
    public func encodePair(_ a: String, _ b: String, maxLength: Int? = nil) -> Encoding {
        let budget = max(0, (maxLength ?? self.maxLength) - 3)
        var first = tokenIds(a)
        var second = a == b ? first : tokenIds(b)
        let (n1, n2) = Truncation.longestFirst(first.count, second.count, budget: budget)
        first.removeSubrange(n1...)
        second.removeSubrange(n2...)
        let total = n1 + n2 + 3
        var ids: [Int32] = []
        ids.reserveCapacity(total)
        ids.append(clsId)
        ids.append(contentsOf: first)
        ids.append(sepId)
        ids.append(contentsOf: second)
        ids.append(sepId)
        var typeIds = [Int32](repeating: 0, count: total)
        for i in (n1 + 2)..<total { typeIds[i] = 1 }
        var mask = [UInt8](repeating: 0, count: total)
        mask[0] = 1
        mask[n1 + 1] = 1
        mask[total - 1] = 1
        return Encoding(ids: ids, typeIds: typeIds, specialTokensMask: mask)
    }

    /// The token string of `id` ("" when out of range).
    public func token(_ id: Int32) -> String {
        id >= 0 && Int(id) < vocabulary.count ? vocabulary[Int(id)] : ""
    }

    /// The id of `token`, or nil when it is not in the vocabulary (linear search: not for hot paths).
    public func id(of token: String) -> Int32? {
        vocabulary.firstIndex { $0.utf8.elementsEqual(token.utf8) }.map { Int32($0) }
    }
}

/// Names of the special tokens.
struct SpecialTokens: Sendable {
    var pad = "[PAD]"
    var unk = "[UNK]"
    var cls = "[CLS]"
    var sep = "[SEP]"
    var mask = "[MASK]"
    var all: [String] { [pad, unk, cls, sep, mask] }
}
