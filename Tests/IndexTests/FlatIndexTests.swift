import XCTest
import Kernels
import Index

extension SplitMix64 {
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) }
    /// Small integer in -r...r, so that inner products are exact in Float and ties are frequent.
    mutating func smallInt(_ r: Int) -> Float { Float(Int(next() % UInt64(2 * r + 1)) - r) }
}

func randomMatrix(_ rows: Int, _ cols: Int, seed: UInt64, integers: Int? = nil) -> Matrix {
    var g = SplitMix64(seed: seed)
    var m = Matrix(rows: rows, cols: cols)
    for i in 0..<m.data.count { m.data[i] = integers.map { g.smallInt($0) } ?? g.float() }
    return m
}

final class FlatIndexTests: XCTestCase {
    /// Integer-valued vectors make every score exact, so the GEMM path must match the naive
    /// reference bit for bit, including the order of the many tied scores.
    func testMatchesNaiveExactlyWithTiesAcrossBlockBoundaries() {
        let corpus = randomMatrix(203, 8, seed: 1, integers: 1)
        let queries = randomMatrix(37, 8, seed: 2, integers: 1)
        let index = FlatIndex(dimension: 8)
        index.queryBlock = 5      // 37 queries -> 8 blocks, the last partial
        index.corpusBlock = 17    // 203 rows -> 12 blocks, the last partial
        index.add(corpus)
        let few = Matrix(rows: 3, cols: 8, data: Array(queries.data[0..<24]))
        for k in [1, 3, 10, 50] {
            let got = index.search(queries, k: k)
            let want = naiveSearch(corpus: corpus, queries: queries, k: k)
            XCTAssertEqual(got, want, "GEMM path, k=\(k)")
            // Fewer queries than smallBatchLimit: the parallel SIMD scan with per-chunk heaps.
            XCTAssertEqual(index.search(few, k: k), naiveSearch(corpus: corpus, queries: few, k: k), "small-batch path, k=\(k)")
        }
        index.smallBatchLimit = 0
        XCTAssertEqual(index.search(few, k: 7), naiveSearch(corpus: corpus, queries: few, k: 7), "GEMM path for 3 queries")
        // The tie rule itself: among equal scores, the lower index first.
        for hits in index.search(queries, k: 50) {
            for (a, b) in zip(hits, hits.dropFirst()) {
                XCTAssertTrue(a.score > b.score || (a.score == b.score && a.index < b.index))
            }
        }
    }

    /// Enough rows for several parallel chunks, so the merge of per-chunk heaps decides ties.
    func testSmallBatchMergesChunksExactly() {
        let corpus = randomMatrix(9000, 6, seed: 11, integers: 1)
        let queries = randomMatrix(5, 6, seed: 12, integers: 1)
        let index = FlatIndex(dimension: 6)
        index.add(corpus)
        for k in [1, 25, 300] {
            XCTAssertEqual(index.search(queries, k: k), naiveSearch(corpus: corpus, queries: queries, k: k), "k=\(k)")
        }
    }

    func testRandomFloatVectorsAgreeWithNaiveWithinRounding() {
        let corpus = randomMatrix(1000, 48, seed: 3)
        let queries = randomMatrix(70, 48, seed: 4)
        let index = FlatIndex(dimension: 48)
        index.corpusBlock = 300
        index.add(Matrix(rows: 400, cols: 48, data: Array(corpus.data[0..<(400 * 48)])))
        index.add(Matrix(rows: 600, cols: 48, data: Array(corpus.data[(400 * 48)...])))
        XCTAssertEqual(index.count, 1000)
        let got = index.search(queries, k: 10)
        let want = naiveSearch(corpus: corpus, queries: queries, k: 10)
        XCTAssertEqual(got.count, 70)
        for (g, w) in zip(got, want) {
            XCTAssertEqual(g.count, 10)
            for (a, b) in zip(g, w) {
                // Either the same row, or two rows whose scores are equal within rounding.
                XCTAssertEqual(a.score, b.score, accuracy: 1e-4)
                if a.index != b.index { XCTAssertEqual(a.score, b.score, accuracy: 1e-5) }
            }
        }
    }

    func testEdgeCases() {
        let index = FlatIndex(dimension: 4)
        let q = randomMatrix(3, 4, seed: 5)
        XCTAssertEqual(index.search(q, k: 5), [[], [], []], "empty index")
        let corpus = randomMatrix(6, 4, seed: 6)
        index.add(corpus)
        XCTAssertEqual(index.search(q, k: 0), [[], [], []])
        let all = index.search(q, k: 100)
        XCTAssertEqual(all.map(\.count), [6, 6, 6], "k larger than the corpus returns the whole corpus")
        XCTAssertEqual(all.map { Set($0.map(\.index)) }, [Set(0..<6), Set(0..<6), Set(0..<6)])
        XCTAssertEqual(index.search(Matrix(rows: 0, cols: 4), k: 3), [])
        XCTAssertEqual(index.vector(at: 2), corpus.row(2))
    }

    func testHeapKeepsLowerIndexOnTiesWhenMergingUnordered() {
        var h = TopKHeap(k: 2)
        for hit in [SearchHit(index: 9, score: 1), SearchHit(index: 4, score: 1),
                    SearchHit(index: 7, score: 1), SearchHit(index: 1, score: 0.5)] {
            h.offerUnordered(hit)
        }
        XCTAssertEqual(h.sorted(), [SearchHit(index: 4, score: 1), SearchHit(index: 7, score: 1)])
        var nanHeap = TopKHeap(k: 2)
        nanHeap.offer(index: 0, score: .nan)
        nanHeap.offer(index: 1, score: 0.25)
        XCTAssertEqual(nanHeap.sorted(), [SearchHit(index: 1, score: 0.25)], "NaN scores are never returned")
    }
}
