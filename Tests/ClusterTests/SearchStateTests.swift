import XCTest
import Cluster
import Index
import Wire

/// The Search part's per-search state alone: shard answers in (checked against the corpus),
/// merged with the one order, re-ranked by CE scores, and the reply out, with wire hits only there.
final class SearchStateTests: XCTestCase {
    let corpus = (0..<20).map { Document(id: "d\($0)", text: "text \($0)") }
    let client = Peer("client")

    func search(topK: Int, rerank: Bool = false, rerankTop: Int = 0) -> SearchState {
        var s = SearchState(client: client, clientRequestID: 7, request: SearchRequest(query: "q", topK: topK, rerank: rerank, rerankTop: rerankTop),
                            start: 100, deadline: 110)
        s.embedded([1, 0], shards: [0, 1], now: 100.5)
        return s
    }

    func hit(_ i: Int, _ score: Float) -> Hit { Hit(docIndex: i, docID: "d\(i)", score: score) }

    func testShardsMergeInTheOneOrderAndInvalidHitsAreDropped() {
        var s = search(topK: 3)
        XCTAssertEqual(s.phase, .searching)
        // Shard 0 holds documents 0..<10; a hit outside it and one with a wrong id are dropped.
        let dropped = s.shardAnswered(0, hits: [hit(4, 0.9), hit(15, 5), Hit(docIndex: 2, docID: "forged", score: 4), hit(1, 0.5)],
                                      range: 0..<10, corpus: corpus)
        XCTAssertEqual(dropped, [hit(15, 5), Hit(docIndex: 2, docID: "forged", score: 4)])
        XCTAssertNil(s.shardAnswered(0, hits: [hit(3, 9)], range: 0..<10, corpus: corpus), "a repeated answer changes nothing")
        XCTAssertEqual(s.pendingShards, [1])
        _ = s.shardAnswered(1, hits: [hit(12, 0.9), hit(11, 0.2)], range: 10..<20, corpus: corpus)
        s.mergeShards(now: 101)
        XCTAssertEqual(s.candidates, [SearchHit(index: 4, score: 0.9), SearchHit(index: 12, score: 0.9), SearchHit(index: 1, score: 0.5)],
                       "score descending, ties by the lower index, cut at top_k")
        let r = s.reply(now: 101.5, corpus: corpus)
        XCTAssertEqual(r.hits, [hit(4, 0.9), hit(12, 0.9), hit(1, 0.5)])
        XCTAssertFalse(r.partial)
        XCTAssertEqual(r.embedMs, 500, accuracy: 1e-6); XCTAssertEqual(r.searchMs, 500, accuracy: 1e-6); XCTAssertEqual(r.totalMs, 1500, accuracy: 1e-6)
    }

    func testMissingShardMakesThePartialReply() {
        var s = search(topK: 2)
        _ = s.shardAnswered(0, hits: [hit(3, 1)], range: 0..<10, corpus: corpus)
        s.shardsTimedOut()
        s.mergeShards(now: 110)
        let r = s.reply(now: 110, corpus: corpus)
        XCTAssertEqual(r.hits, [hit(3, 1)])
        XCTAssertTrue(r.partial)
        XCTAssertEqual(r.missingShards, [1])
    }

    func testRerankPartsScoresAndFirstStage() {
        var s = search(topK: 2, rerank: true, rerankTop: 4)
        XCTAssertEqual(s.depth, 4)
        _ = s.shardAnswered(0, hits: [hit(1, 0.9), hit(2, 0.8)], range: 0..<10, corpus: corpus)
        _ = s.shardAnswered(1, hits: [hit(10, 0.7), hit(11, 0.6)], range: 10..<20, corpus: corpus)
        s.mergeShards(now: 101)
        s.startRerank(workers: 2, now: 101)
        XCTAssertEqual(s.rerankParts, [0..<2, 2..<4])
        XCTAssertEqual(s.passages(1, corpus: corpus).map(\.id), ["d10", "d11"])
        XCTAssertEqual(s.rerankAnswered(0, scores: [1]), "rerank returned 1 scores for 2 passages")
        XCTAssertNil(s.rerankAnswered(0, scores: [0.1, 3]))
        XCTAssertFalse(s.rerankComplete)
        XCTAssertNil(s.rerankAnswered(1, scores: [2, .nan]))
        XCTAssertTrue(s.rerankComplete)
        let r = s.reply(now: 102, corpus: corpus)
        XCTAssertEqual(r.hits, [hit(2, 3), hit(10, 2)], "CE order; a NaN score is dropped")
        XCTAssertEqual(r.firstStageScores, [0.8, 0.7])
        XCTAssertEqual(r.rerankMs, 1000, accuracy: 1e-6)
        // With the re-rank failed: the first stage, flagged partial.
        let f = s.reply(rerankFailed: true, now: 102, corpus: corpus)
        XCTAssertEqual(f.hits, [hit(1, 0.9), hit(2, 0.8)])
        XCTAssertTrue(f.partial)
        XCTAssertEqual(f.firstStageScores, [])
    }
}
