/// One search result: a row of the index and its inner-product score with the query.
public struct SearchHit: Equatable, Sendable {
    /// The row number in the index, in the order vectors were added (0-based).
    public var index: Int
    /// The inner product of the query and the stored vector (cosine for normalised vectors).
    public var score: Float

    public init(index: Int, score: Float) {
        self.index = index
        self.score = score
    }

    /// The ranking order used everywhere in Strata: higher score first, and on equal scores the
    /// lower index first (deterministic ties).
    @inlinable
    public static func ranksBefore(_ a: SearchHit, _ b: SearchHit) -> Bool {
        a.score > b.score || (a.score == b.score && a.index < b.index)
    }
}
