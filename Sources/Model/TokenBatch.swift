/// Token sequences padded to a common length S, row-major [B, S]. Sequence b occupies
/// positions 0..<lengths[b]; the rest is padding that never influences real positions.
public struct TokenBatch: Sendable {
    public let count: Int            // B
    public let seqLen: Int           // S
    public var ids: [Int32]          // [B, S]
    public var typeIds: [Int32]      // [B, S]
    public var lengths: [Int]        // [B]

    /// Pads `sequences` (ids, type ids) to the longest one.
    public init(_ sequences: [(ids: [Int32], typeIds: [Int32])], padId: Int32 = 0) {
        count = sequences.count
        seqLen = max(1, sequences.map { $0.ids.count }.max() ?? 1)
        ids = [Int32](repeating: padId, count: count * seqLen)
        typeIds = [Int32](repeating: 0, count: count * seqLen)
        lengths = sequences.map { $0.ids.count }
        for (b, s) in sequences.enumerated() {
            for (j, id) in s.ids.enumerated() { ids[b * seqLen + j] = id; typeIds[b * seqLen + j] = s.typeIds[j] }
        }
    }
}
