import XCTest
import Cluster
import Formats
import Index
import Kernels
import Wire


/// Merge exactness, the vector store, the journal, liveness and the shard map.
final class PieceTests: XCTestCase {
    /// Per-shard exact top-k lists (what workers return) merged with TopK.merge equal the Index
    /// module's `naiveSearch` over the whole corpus (plain loop, full sort).
    func testMergeOfShardTopKIsExact() {
        var rng = SplitMix64(seed: 7)
        let dim = 6, n = 500
        let rows = (0..<(n * dim)).map { _ in Float(Int.random(in: -3...3, using: &rng)) / 4 } // coarse values force ties (and sum exactly)
        for _ in 0..<20 {
            let q = (0..<dim).map { _ in Float(Int.random(in: -2...2, using: &rng)) / 2 }
            let k = Int.random(in: 1...40, using: &rng)
            let cuts = [0, 90, 91, 260, 400, n]
            var lists: [[SearchHit]] = []
            for s in 0..<(cuts.count - 1) {
                let lo = cuts[s], hi = cuts[s + 1]
                let part = Vectors(rows: hi - lo, dimension: dim, data: Array(rows[(lo * dim)..<(hi * dim)]))
                lists.append(ExactSearch.search(part, query: q, k: k).map { SearchHit(index: lo + $0.index, score: $0.score) })
            }
            let naive = naiveSearch(corpus: Matrix(rows: n, cols: dim, data: rows), queries: Matrix(rows: 1, cols: dim, data: q), k: k)[0]
            XCTAssertEqual(TopK.merge(lists, k: k), naive)
        }
    }

    /// The one merge and the one order: score descending, then the lower document index; NaN
    /// scores are dropped; a wire Hit ranks as its SearchHit does.
    func testTopKMergeOrderTiesAndNaN() {
        let a = [SearchHit(index: 5, score: 1), SearchHit(index: 2, score: 0.5)]
        let b = [SearchHit(index: 3, score: 1), SearchHit(index: 9, score: .nan), SearchHit(index: 1, score: 0.5), SearchHit(index: 4, score: -2)]
        let all = [SearchHit(index: 3, score: 1), SearchHit(index: 5, score: 1), SearchHit(index: 1, score: 0.5), SearchHit(index: 2, score: 0.5),
                   SearchHit(index: 4, score: -2)]
        XCTAssertEqual(TopK.merge([a, b], k: 10), all)
        XCTAssertEqual(TopK.merge([b, a], k: 3), Array(all.prefix(3)))
        XCTAssertEqual(TopK.merge([a, b], k: 0), [])
        XCTAssertEqual(TopK.merge([], k: 4), [])
        XCTAssertTrue(Hit.ranksBefore(Hit(docIndex: 3, docID: "x", score: 1), Hit(docIndex: 5, docID: "a", score: 1)), "ties by index, not id")
        XCTAssertEqual(SearchHit(index: 7, score: 2).wire(id: "d7"), Hit(docIndex: 7, docID: "d7", score: 2))
        XCTAssertEqual(Hit(docIndex: 7, docID: "d7", score: 2).searchHit, SearchHit(index: 7, score: 2))
    }

    /// Shard stores (FlatIndex inside) merged = one FlatIndex over everything, bit for bit.
    func testShardStoresMergeToTheSingleIndexExactly() throws {
        let dir = tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        var rng = SplitMix64(seed: 11)
        let dim = 48, n = 900
        let data = (0..<(n * dim)).map { _ in Float.random(in: -1...1, using: &rng) }
        let ids = (0..<n).map { "id\($0)" }
        let cuts = [0, 1, 300, 301, 650, n]
        var stores: [VectorStore] = []
        for s in 0..<(cuts.count - 1) {
            let lo = cuts[s], hi = cuts[s + 1]
            try VectorStore.write(directory: dir, name: "shard-\(s)", vectors: Vectors(rows: hi - lo, dimension: dim, data: Array(data[(lo * dim)..<(hi * dim)])),
                                  firstDocIndex: lo, ids: Array(ids[lo..<hi]))
            stores.append(try VectorStore(directory: dir, name: "shard-\(s)"))
        }
        for _ in 0..<10 {
            let q = (0..<dim).map { _ in Float.random(in: -1...1, using: &rng) }
            let k = Int.random(in: 1...50, using: &rng)
            let single = ExactSearch.search(Vectors(rows: n, dimension: dim, data: data), query: q, k: k)
            let fromStores = stores.map { $0.search(q, k: k) }
            XCTAssertEqual(TopK.merge(fromStores.map { $0.map(\.searchHit) }, k: k), single)
            XCTAssertTrue(fromStores.joined().allSatisfy { $0.docID == ids[$0.docIndex] }, "each store's wire hits carry their ids")
            // and the same ranking as the naive scan (scores equal up to summation order)
            let naive = naiveSearch(corpus: Matrix(rows: n, cols: dim, data: data), queries: Matrix(rows: 1, cols: dim, data: q), k: k)[0]
            XCTAssertEqual(single.map(\.index), naive.map(\.index))
            for (a, b) in zip(single, naive) { XCTAssertEqual(a.score, b.score, accuracy: 1e-5) }
        }
    }

    func tempDir() -> URL { FileManager.default.temporaryDirectory.appendingPathComponent("strata-store-\(UUID().uuidString)") }

    func testVectorStoreRoundTripAndCorruptionDetected() throws {
        let dir = tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        let v = Vectors(rows: 3, dimension: 2, data: [1, 0, 0, 1, 0.5, 0.5])
        try VectorStore.write(directory: dir, name: "shard-0", vectors: v, firstDocIndex: 10, ids: ["a", "b", "c"])
        let s = try VectorStore(directory: dir, name: "shard-0")
        XCTAssertEqual([s.count, s.dimension, s.firstDocIndex], [3, 2, 10])
        XCTAssertEqual(Array(s.rows), v.data)
        XCTAssertEqual(s.search([0, 1], k: 2), [Hit(docIndex: 11, docID: "b", score: 1), Hit(docIndex: 12, docID: "c", score: 0.5)])
        // flip one data byte
        let path = dir.appendingPathComponent("shard-0.vec")
        var bytes = try Data(contentsOf: path)
        bytes[VectorStore.headerBytes + 5] ^= 0x40
        try bytes.write(to: path)
        XCTAssertThrowsError(try VectorStore(directory: dir, name: "shard-0")) { XCTAssertTrue("\($0)".contains("checksum"), "\($0)") }
        try bytes.prefix(VectorStore.headerBytes + 7).write(to: path)
        XCTAssertThrowsError(try VectorStore(directory: dir, name: "shard-0")) { XCTAssertTrue("\($0)".contains("header says"), "\($0)") }
        try Data("NOTASTORE".utf8 + [UInt8](repeating: 0, count: 40)).write(to: path)
        XCTAssertThrowsError(try VectorStore(directory: dir, name: "shard-0")) { XCTAssertTrue("\($0)".contains("magic"), "\($0)") }
        XCTAssertThrowsError(try VectorStore(directory: dir, name: "absent")) { XCTAssertTrue("\($0)".contains("absent.vec"), "\($0)") }
    }

    func testSecretKeyFilesArePrivate() throws {
        let dir = tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        for force in [false, true] {  // a second generation (--force) replaces the files, still private
            try CurveKeys.generate(into: dir, force: force)
            for (name, mode) in [("server.key", 0o600), ("worker.key", 0o600), ("client.key", 0o600), ("server.pub", 0o644), ("authorized_clients", 0o644),
                                 ("authorized_workers", 0o644)] {
                let attrs = try FileManager.default.attributesOfItem(atPath: dir.appendingPathComponent(name).path)
                XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue ?? -1, mode, name)
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted(), CurveKeys.fileNames.sorted(), "no temporary file left")
    }

    func umaskValue() -> mode_t { let m = umask(0o022); umask(m); return m }

    func testJournalReplay() {
        let spec = JobJournal.Spec(jobID: "j1", corpusPath: "/c.jsonl", model: "/m", outDir: "/o", chunkSize: 10, docCount: 35, chunkCount: 4)
        var text = JobJournal.specLine(spec)
        text += JobJournal.doneLine(chunk: 2, rows: 10, crc: 0xABCD)
        text += JobJournal.doneLine(chunk: 0, rows: 10, crc: 0x1)
        text += JobJournal.doneLine(chunk: 2, rows: 10, crc: 0xABCD) // written twice before a crash: harmless
        var j = JobJournal.replay(text)
        XCTAssertEqual(j?.spec, spec)
        XCTAssertEqual(j?.done.keys.sorted(), [0, 2])
        XCTAssertEqual(j?.done[2]?.crc, 0xABCD)
        XCTAssertEqual(j?.finished, false)
        // torn last line (crash mid-append) is ignored
        j = JobJournal.replay(text + "done 3\t5\tff")
        XCTAssertEqual(j?.done.keys.sorted(), [0, 2])
        j = JobJournal.replay(text + "done 9\t5\tff\n") // chunk out of range
        XCTAssertEqual(j?.done.keys.sorted(), [0, 2])
        j = JobJournal.replay(text + JobJournal.doneLine(chunk: 1, rows: 10, crc: 2) + JobJournal.doneLine(chunk: 3, rows: 5, crc: 3) + JobJournal.finishedLine)
        XCTAssertEqual(j?.done.count, 4)
        XCTAssertEqual(j?.finished, true)
        XCTAssertNil(JobJournal.replay("garbage\n"))
    }

    func testJournalAppendAndReadBack() throws {
        let dir = tempDir(); defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("jobs/j/journal.log")
        let spec = JobJournal.Spec(jobID: "j", corpusPath: "c", model: "m", outDir: "o", chunkSize: 2, docCount: 3, chunkCount: 2)
        try JobJournal.append(JobJournal.specLine(spec), to: url)
        try JobJournal.append(JobJournal.doneLine(chunk: 1, rows: 1, crc: 7), to: url)
        let j = JobJournal.replay(try String(contentsOf: url, encoding: .utf8))
        XCTAssertEqual(j?.done.keys.sorted(), [1])
    }

    func testWorkerLivenessHeartbeatsAndBacksOff() {
        var l = WorkerLiveness(now: 0, interval: 1, liveness: 3, reconnectInitial: 1, reconnectMax: 4)
        XCTAssertEqual(l.tick(now: 0.5), [])
        XCTAssertEqual(l.tick(now: 1.0), [.sendHeartbeat])
        XCTAssertEqual(l.tick(now: 1.5), [])
        l.heard(now: 1.5)
        XCTAssertEqual(l.tick(now: 4.4), [.sendHeartbeat], "2.9 s of silence: not dead yet")
        XCTAssertEqual(l.tick(now: 4.6), [.reconnect(after: 1)])
        // still silent after reconnecting: the back-off doubles, capped at 4
        XCTAssertEqual(l.tick(now: 8.7), [.reconnect(after: 2)])
        XCTAssertEqual(l.tick(now: 13.8), [.reconnect(after: 4)])
        XCTAssertEqual(l.tick(now: 20.9), [.reconnect(after: 4)])
        l.heard(now: 25)
        XCTAssertEqual(l.tick(now: 28.1), [.reconnect(after: 1)], "traffic resets the back-off")
    }

    func testShardMapReplicationAndRebalance() {
        var m = ShardMap(documentCount: 100, shardCount: 4, replication: 2)
        XCTAssertEqual(m.shards.map(\.range.count), [25, 25, 25, 25])
        let a = Peer("a"), b = Peer("b"), c = Peer("c")
        let first = m.fillReplicas(live: [a])
        XCTAssertEqual(first.count, 4, "one live worker: one replica each")
        let second = m.fillReplicas(live: [a, b])
        XCTAssertEqual(second.count, 4)
        XCTAssertTrue(m.shards.allSatisfy { Set($0.assigned) == [a, b] })
        for s in 0..<4 { m.markReady(shard: s, worker: a); m.markReady(shard: s, worker: b) }
        // c joins: loads 4,4,0 -> moves until balanced within 1
        let moves = m.rebalance(live: [a, b, c])
        XCTAssertTrue(moves.allSatisfy { $0.worker == c })
        XCTAssertGreaterThanOrEqual(moves.count, 2)
        XCTAssertTrue(m.dropSurplus().isEmpty, "nothing is dropped before the new replicas are ready")
        for mv in moves { m.markReady(shard: mv.shard, worker: c) }
        let drops = m.dropSurplus()
        XCTAssertEqual(drops.count, moves.count)
        XCTAssertTrue(m.shards.allSatisfy { $0.assigned.count == 2 && $0.ready.count == 2 })
        m.remove(worker: a)
        XCTAssertTrue(m.shards.allSatisfy { !$0.assigned.contains(a) })
    }
}
