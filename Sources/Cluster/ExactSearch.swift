import Index
import Kernels
import Wire

/// Single-query exact search with the Index module's `FlatIndex`: what a worker runs on a shard and
/// what a single process runs on the whole corpus. For one query FlatIndex scores each row with a
/// row-local SIMD dot product, so a document's score is the same bits whichever shard holds it, and
/// merging the shards' top-k (`TopK.merge`) equals the single-process top-k exactly.
public enum ExactSearch {
    /// The top `k` rows of `index` for `query`, as documents `firstIndex + row`.
    public static func search(_ index: FlatIndex, firstIndex: Int, query: [Float], k: Int) -> [SearchHit] {
        precondition(query.count == index.dimension, "ExactSearch: query of \(query.count) for dimension \(index.dimension)")
        return index.search(Matrix(rows: 1, cols: query.count, data: query), k: k)[0].map {
            SearchHit(index: firstIndex + $0.index, score: $0.score)
        }
    }

    /// Single-process reference: all of `vectors` in one FlatIndex.
    public static func search(_ vectors: Vectors, query: [Float], k: Int) -> [SearchHit] {
        let index = FlatIndex(dimension: vectors.dimension)
        index.add(Matrix(rows: vectors.rows, cols: vectors.dimension, data: vectors.data))
        return search(index, firstIndex: 0, query: query, k: k)
    }
}
