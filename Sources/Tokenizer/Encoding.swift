/// Token ids of one encoded text or text pair, ready for a BERT forward pass.
///
/// `ids`, `typeIds` and `specialTokensMask` have the same length: `[CLS] a [SEP]` for a single text,
/// `[CLS] a [SEP] b [SEP]` for a pair (type ids 0 for `[CLS] a [SEP]`, 1 for `b [SEP]`).
public struct Encoding: Sendable, Equatable {
    /// Vocabulary ids, special tokens included.
    public var ids: [Int32]
    /// Segment ids: 0 for the first text (and its `[CLS]`/`[SEP]`), 1 for the second text and its `[SEP]`.
    public var typeIds: [Int32]
    /// 1 for the `[CLS]`/`[SEP]` tokens added by the encoder, 0 for the text's own tokens.
    public var specialTokensMask: [UInt8]

    public init(ids: [Int32], typeIds: [Int32], specialTokensMask: [UInt8]) {
        self.ids = ids
        self.typeIds = typeIds
        self.specialTokensMask = specialTokensMask
    }

    /// Number of tokens.
    public var count: Int { ids.count }
}
