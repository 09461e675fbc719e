/// Token ids of several sequences packed back to back (no padding), with their lengths: the batch of
/// both the inference engine (`BertEngine`) and training (`TrainableBert`). Sequence b owns tokens
/// offsets[b] ..< offsets[b] + lengths[b] of every [N, *] buffer of a forward pass.
public struct PackedBatch: Sendable, Equatable {
    /// [N] token ids, token type ids and positions (index within the sequence).
    public private(set) var ids: [Int32] = []
    public private(set) var types: [Int32] = []
    public private(set) var positions: [Int32] = []
    /// [B] number of tokens of each sequence (each >= 1).
    public private(set) var lengths: [Int] = []
    /// [B] index of each sequence's first token.
    public private(set) var offsets: [Int] = []
    /// N
    public var tokenCount: Int { ids.count }
    /// B
    public var count: Int { lengths.count }
    /// The longest sequence (0 when empty).
    public var maxLength: Int { lengths.max() ?? 0 }

    public init() {}

    /// Packs sequences given as (ids, types) pairs of equal length.
    public init(_ sequences: [(ids: [Int32], types: [Int32])]) {
        for s in sequences { append(ids: s.ids, types: s.types) }
    }

    /// Appends one sequence (ids and types of the same non-zero length).
    public mutating func append(ids newIds: [Int32], types newTypes: [Int32]) {
        precondition(!newIds.isEmpty && newIds.count == newTypes.count, "PackedBatch: bad sequence")
        offsets.append(ids.count)
        ids += newIds
        types += newTypes
        positions += (0..<newIds.count).map { Int32($0) }
        lengths.append(newIds.count)
    }

    /// Sequences `range` as a batch of their own.
    public func slice(_ range: Range<Int>) -> PackedBatch {
        var out = PackedBatch()
        for b in range {
            let lo = offsets[b], hi = lo + lengths[b]
            out.append(ids: Array(ids[lo..<hi]), types: Array(types[lo..<hi]))
        }
        return out
    }
}
