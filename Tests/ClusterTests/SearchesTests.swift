import XCTest
import Cluster
import Index
import Wire

/// The Search part alone (`Searches` with the shared `RequestTable`), driven by event sequences
/// as the coordinator routes them, no sockets: replica choice, the per-try budget (hedging),
/// failover when a worker's connection drops, late and stale replies, the deadline's partial
/// answer.
final class SearchesTests: XCTestCase {
    let corpus = (0..<30).map { Document(id: "d\($0)", text: "text \($0)") }
    let client = Peer("client")
    let a = Peer("a"), b = Peer("b"), c = Peer("c"), e = Peer("e")

    /// Search part, request table, and everything it asked for so far.
    struct Rig {
        var part: Searches
        var requests = RequestTable()
        var workers: SearchWorkers
        var sends: [(to: Peer, id: UInt64, body: Body, deadline: Double)] = []
        var answers: [Searches.Directive] = []
        var embedChoices: [(search: UInt64, hedge: Bool)] = []
        var logs: [String] = []

        mutating func take(_ ds: [Searches.Directive]) {
            for d in ds {
                switch d {
                case .send(let to, let id, let body, let deadline): sends.append((to, id, body, deadline))
                case .chooseEmbedder(let s, let hedge): embedChoices.append((s, hedge))
                case .reply, .fail: answers.append(d)
                case .log(let l): logs.append(l)
                }
            }
        }

        /// The latest try of `shard` (its worker and request id).
        func shardTry(_ shard: Int) -> (to: Peer, id: UInt64)? {
            sends.last { if case .searchShardRequest(let m) = $0.body { return m.shardID == shard }; return false }.map { ($0.to, $0.id) }
        }
        func shardTries(_ shard: Int) -> [Peer] {
            sends.filter { if case .searchShardRequest(let m) = $0.body { return m.shardID == shard }; return false }.map(\.to)
        }

        /// A shard reply arrives, routed as the coordinator routes it: through the request table
        /// (unknown id or another sender: dropped), then to the Search part. Returns false when dropped.
        @discardableResult
        mutating func shardReply(_ id: UInt64, from: Peer, _ hits: [Hit], now: Double) -> Bool {
            guard let o = requests.answered(id, from: from), case .searchShard(let sid, let shard) = o.purpose else { return false }
            take(part.shardAnswered(sid, shard, from: from, hits, workers, now: now, &requests))
            return true
        }

        /// `w`'s connection drops (or it dies): its search tries leave the table and fail over.
        mutating func lose(_ w: Peer, now: Double) {
            workers.replicas = workers.replicas.map { $0.filter { $0 != w } }
            workers.rerankers.removeAll { $0 == w }
            for (_, o) in requests.removeAll(where: { $0.worker == w && $0.purpose.search != nil }) {
                take(part.tryFailed(o.purpose, workers, now: now, &requests))
            }
        }
    }

    /// Three shards of 10 documents: shard 0 on a and b, shard 1 on b and c, shard 2 on c alone.
    /// A search at t = 100 (deadline 110, per-try budget 0.5) whose query e has embedded.
    func searching(topK: Int = 3) -> (Rig, UInt64) {
        var rig = Rig(part: Searches(corpus: corpus, shardRanges: [0..<10, 10..<20, 20..<30], tryBudget: 0.5),
                      workers: SearchWorkers(replicas: [[a, b], [b, c], [c]], rerankers: []))
        let sid = rig.requests.newID()
        rig.take(rig.part.start(sid, client: client, requestID: 7, SearchRequest(query: "q", topK: topK), now: 100, deadline: 110))
        XCTAssertEqual(rig.embedChoices.map(\.search), [sid], "the coordinator is asked for an embedder")
        rig.take(rig.part.embed(sid, worker: e, hedge: false, now: 100, &rig.requests))
        guard let embed = rig.sends.last, case .embedBatchRequest = embed.body, embed.to == e else { XCTFail("no embed request"); return (rig, sid) }
        XCTAssertEqual(embed.deadline, 110)
        XCTAssertEqual(rig.requests.answered(embed.id, from: e)?.purpose, .embedQuery(search: sid))
        rig.take(rig.part.queryEmbedded(sid, [1, 0], rig.workers, now: 100.1, &rig.requests))
        XCTAssertEqual((0..<3).map { rig.shardTries($0).count }, [1, 1, 1], "one try per shard")
        return (rig, sid)
    }

    func hit(_ i: Int, _ score: Float) -> Hit { Hit(docIndex: i, docID: "d\(i)", score: score) }

    var reply: (Rig) -> SearchReply? {
        { rig in rig.answers.compactMap { if case .reply(_, 7, let r) = $0 { return r }; return nil }.first }
    }

    func testSlowShardTryIsRetriedOnAnotherReplicaWithinTheDeadline() {
        var (rig, _) = searching()
        let first = rig.shardTry(0)!
        rig.shardReply(rig.shardTry(1)!.id, from: rig.shardTry(1)!.to, [hit(11, 0.5)], now: 100.2)
        rig.shardReply(rig.shardTry(2)!.id, from: c, [hit(21, 0.4)], now: 100.2)
        rig.take(rig.part.tick(now: 100.5, rig.workers, &rig.requests))
        XCTAssertEqual(rig.shardTries(0).count, 1, "within the budget: no second try")
        rig.take(rig.part.tick(now: 100.7, rig.workers, &rig.requests))
        let second = rig.shardTry(0)!
        XCTAssertEqual(rig.shardTries(0), [first.to, first.to == a ? b : a], "past the budget: the other replica too")
        XCTAssertEqual(rig.sends.last?.deadline, 110, "the retry keeps the search's deadline")
        XCTAssertTrue(rig.logs.contains { $0.contains("shard 0 on \(first.to) unanswered after 0.5 s") })
        rig.take(rig.part.tick(now: 101.5, rig.workers, &rig.requests))
        XCTAssertEqual(rig.shardTries(0).count, 2, "a try is hedged once; no replica is left anyway")
        XCTAssertTrue(rig.shardReply(second.id, from: second.to, [hit(3, 0.9)], now: 101.6))
        guard let r = reply(rig) else { return XCTFail("no reply: \(rig.answers)") }
        XCTAssertEqual(r.hits, [hit(3, 0.9), hit(11, 0.5), hit(21, 0.4)])
        XCTAssertFalse(r.partial)
        XCTAssertTrue(rig.requests.table.isEmpty, "the answered search's slow first try is forgotten")
        // The first replica's late reply: no request is in flight under its id any more.
        XCTAssertFalse(rig.shardReply(first.id, from: first.to, [hit(5, 9)], now: 102))
        XCTAssertEqual(rig.answers.count, 1, "answered once")
    }

    func testLateReplyAfterARetryIsIgnored() {
        var (rig, _) = searching()
        let first = rig.shardTry(0)!
        rig.take(rig.part.tick(now: 100.7, rig.workers, &rig.requests))
        let second = rig.shardTry(0)!
        XCTAssertNotEqual(first.to, second.to)
        // The retry answers; the first try's late reply (still in flight: shard 1 is pending) changes nothing.
        XCTAssertTrue(rig.shardReply(second.id, from: second.to, [hit(4, 0.3)], now: 100.8))
        XCTAssertTrue(rig.shardReply(first.id, from: first.to, [hit(6, 9)], now: 100.9), "routed: it was in flight")
        XCTAssertEqual(rig.part.searches.values.first?.pendingShards, [1, 2])
        rig.shardReply(rig.shardTry(1)!.id, from: rig.shardTry(1)!.to, [hit(12, 0.2)], now: 101)
        rig.shardReply(rig.shardTry(2)!.id, from: c, [], now: 101)
        guard let r = reply(rig) else { return XCTFail("no reply") }
        XCTAssertEqual(r.hits, [hit(4, 0.3), hit(12, 0.2)], "only the first answer for shard 0 counts")
        XCTAssertFalse(r.partial)
    }

    func testDroppedConnectionMovesItsTriesAtOnce() {
        var (rig, _) = searching()
        // Whichever replica has shard 0 and shard 1 now, b's connection drops at 100.15, well within the budget.
        let onB = (0..<3).filter { rig.shardTry($0)!.to == b }
        rig.lose(b, now: 100.15)
        for s in onB {
            XCTAssertEqual(rig.shardTries(s), [b, s == 0 ? a : c], "shard \(s): to the other replica at once")
        }
        XCTAssertFalse(rig.requests.table.values.contains { $0.worker == b }, "nothing of b's stays in flight")
        for s in 0..<3 {
            let t = rig.shardTry(s)!
            rig.shardReply(t.id, from: t.to, [hit(s * 10, Float(s))], now: 100.2)
        }
        guard let r = reply(rig) else { return XCTFail("no reply") }
        XCTAssertFalse(r.partial, "every shard had another live replica")
        XCTAssertEqual(r.hits.map(\.docIndex), [20, 10, 0])
    }

    func testReplyFromAnotherIncarnationIsDropped() {
        var (rig, _) = searching()
        let t2 = rig.shardTry(2)!
        XCTAssertEqual(t2.to, c)
        // c dies (or registers again: the coordinator treats its old session as dead): its tries
        // leave the table. Shard 2 has no other replica: missing, not waited for.
        rig.lose(c, now: 100.2)
        rig.workers.replicas[2] = [c]   // c is back (a new incarnation) with shard 2
        XCTAssertFalse(rig.shardReply(t2.id, from: c, [hit(29, 99)], now: 100.3), "the old incarnation's reply is dropped")
        // A reply under a live request id but from another peer is dropped too, and the request stays.
        let t0 = rig.shardTry(0)!
        XCTAssertFalse(rig.shardReply(t0.id, from: e, [hit(1, 99)], now: 100.3))
        XCTAssertNotNil(rig.requests.table[t0.id])
        XCTAssertTrue(rig.shardReply(t0.id, from: t0.to, [hit(1, 0.1)], now: 100.4))
        let t1 = rig.shardTry(1)!
        XCTAssertTrue(rig.shardReply(t1.id, from: t1.to, [hit(15, 0.2)], now: 100.4))
        guard let r = reply(rig) else { return XCTFail("no reply") }
        XCTAssertEqual(r.hits, [hit(15, 0.2), hit(1, 0.1)], "nothing of the stale reply")
        XCTAssertEqual(r.missingShards, [2])
        XCTAssertTrue(r.partial)
    }

    func testDeadlineAnswersPartialWithExactlyTheUnansweredShardsMissing() {
        var (rig, sid) = searching()
        // a and c answer; b is hung. Shard 0 (a, b) and shard 1 (b, c) may have gone to b.
        for s in 0..<3 where rig.shardTry(s)!.to != b {
            rig.shardReply(rig.shardTry(s)!.id, from: rig.shardTry(s)!.to, [hit(s * 10 + 1, Float(s) + 0.5)], now: 100.2)
        }
        // Past the budget the hung tries are hedged to the live replicas, which answer: the live
        // workers' shards are never missing.
        rig.take(rig.part.tick(now: 100.7, rig.workers, &rig.requests))
        for s in 0..<2 where rig.shardTries(s).first == b {
            let t = rig.shardTry(s)!
            XCTAssertNotEqual(t.to, b)
            rig.shardReply(t.id, from: t.to, [hit(s * 10 + 1, Float(s) + 0.5)], now: 100.8)
        }
        guard let r = reply(rig) else { return XCTFail("no reply") }
        XCTAssertFalse(r.partial)
        XCTAssertEqual(r.hits.map(\.docIndex), [21, 11, 1])
        XCTAssertNil(rig.part.searches[sid])

        // Now shard 2 (c alone) hangs and shard 0's replicas both hang: at the deadline exactly
        // shards 0 and 2 are missing; shard 1, which answered, is not.
        var (late, sid2) = searching()
        let t1 = late.shardTry(1)!
        late.shardReply(t1.id, from: t1.to, [hit(12, 0.7)], now: 100.3)
        late.take(late.part.tick(now: 100.7, late.workers, &late.requests))
        XCTAssertEqual(late.shardTries(0).count, 2, "shard 0 hedged")
        XCTAssertEqual(late.shardTries(2).count, 1, "shard 2 has no other replica")
        late.take(late.part.tick(now: 109.9, late.workers, &late.requests))
        XCTAssertNil(reply(late), "before the deadline: still waiting")
        late.take(late.part.tick(now: 110, late.workers, &late.requests))
        guard let p = reply(late) else { return XCTFail("no reply at the deadline") }
        XCTAssertTrue(p.partial)
        XCTAssertEqual(p.missingShards, [0, 2])
        XCTAssertEqual(p.hits, [hit(12, 0.7)])
        XCTAssertTrue(late.logs.contains("search \(sid2): deadline with shards [0, 2] unanswered: partial result"))
        XCTAssertTrue(late.requests.table.isEmpty, "the unanswered tries are forgotten: their replies will be dropped")
    }

    func testEmbeddingFailoverAndNoEmbedder() {
        var rig = Rig(part: Searches(corpus: corpus, shardRanges: [0..<10, 10..<20, 20..<30], tryBudget: 0.5),
                      workers: SearchWorkers(replicas: [[a], [b], [c]], rerankers: []))
        let sid = rig.requests.newID()
        rig.take(rig.part.start(sid, client: client, requestID: 7, SearchRequest(query: "q", topK: 3), now: 100, deadline: 110))
        rig.take(rig.part.embed(sid, worker: e, hedge: false, now: 100, &rig.requests))
        // Slow: a hedge is asked for; the coordinator has no other embedder: the first try goes on.
        rig.take(rig.part.tick(now: 100.6, rig.workers, &rig.requests))
        XCTAssertEqual(rig.embedChoices.last?.hedge, true)
        rig.take(rig.part.embed(sid, worker: nil, hedge: true, now: 100.6, &rig.requests))
        XCTAssertTrue(rig.answers.isEmpty)
        XCTAssertEqual(rig.part.triedEmbed(sid), [e])
        // e's connection drops: its try fails over; with no embedder left the search fails.
        rig.lose(e, now: 100.7)
        XCTAssertEqual(rig.embedChoices.last?.hedge, false)
        rig.take(rig.part.embed(sid, worker: nil, hedge: false, now: 100.7, &rig.requests))
        XCTAssertEqual(rig.answers, [.fail(to: client, requestID: 7, RPCStatus(.unavailable, "no live worker can embed the query"))])
        XCTAssertTrue(rig.part.searches.isEmpty)
    }
}
