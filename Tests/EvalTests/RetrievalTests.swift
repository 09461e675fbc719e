import XCTest
import Kernels
import Eval

final class RetrievalTests: XCTestCase {
    func testSearchThenRerankThenEvaluate() throws {
        // 3 documents on the axes, 2 queries; q1 is closest to d0 then d1.
        let docs = Matrix(rows: 3, cols: 3, data: [1, 0, 0, 0, 1, 0, 0, 0, 1])
        let qs = Matrix(rows: 2, cols: 3, data: [0.9, 0.4, 0.1, 0, 0, 1])
        let run = Retrieval.search(queryIds: ["q1", "q2"], queryVectors: qs, docIds: ["d0", "d1", "d2"], docVectors: docs, k: 2)
        XCTAssertEqual(run["q1"]!.map(\.0), ["d0", "d1"])
        XCTAssertEqual(run["q2"]!.map(\.0), ["d2", "d0"], "tie between d0 and d1 at 0: lower row first")
        let qrels: Qrels = ["q1": ["d1": 1], "q2": ["d2": 1]]
        XCTAssertEqual(evaluate(run: run, qrels: qrels, cutoffs: [1]).mean["MRR@1"], 0.5)
        // A scorer that prefers longer passages flips q1's order; only the top 2 are re-scored.
        var calls = 0
        let reranked = try Retrieval.rerank(run: run, queries: ["q1": "a", "q2": "b"],
                                            documents: ["d0": "x", "d1": "xxx", "d2": "xx"], top: 2, batch: 3) { pairs in
            calls += 1
            return pairs.map { Float($0.1.count) }
        }
        XCTAssertEqual(calls, 2, "4 pairs in batches of 3")
        XCTAssertEqual(reranked["q1"]!.map(\.0), ["d1", "d0"])
        // Only the top 1 re-scored: the rest keeps its first-stage order below it.
        let top1 = try Retrieval.rerank(run: ["q": [("a", 0.9), ("b", 0.8), ("c", 0.7)]], queries: ["q": "q"],
                                        documents: ["a": "1", "b": "22", "c": "333"], top: 1) { $0.map { _ in -5 } }
        XCTAssertEqual(trecOrder(top1["q"]!).map(\.0), ["a", "b", "c"])
        XCTAssertEqual(top1["q"]![0].1, -5)
        XCTAssertEqual(evaluate(run: reranked, qrels: qrels, cutoffs: [1]).mean["MRR@1"], 1.0)
    }

    func testSubsampleKeepsJudgedDocuments() {
        let corpus = (0..<10).map { BEIRDocument(id: "d\($0)", text: "t\($0)") }
        let ds = BEIRDataset(corpus: corpus, queries: [BEIRQuery(id: "q", text: "x"), BEIRQuery(id: "r", text: "y")],
                             qrels: ["q": ["d9": 1, "d7": 0], "r": ["d8": 1]])
        let small = ds.subsampled(maxCorpus: 4, maxQueries: 1)
        XCTAssertEqual(small.queries.map(\.id), ["q"])
        XCTAssertEqual(small.corpus.map(\.id), ["d0", "d1", "d7", "d9"])
        XCTAssertEqual(ds.subsampled(maxCorpus: nil).corpus.count, 10)
    }
}
