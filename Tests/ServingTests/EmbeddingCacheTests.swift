import Foundation
import XCTest
import Cluster
import Wire

/// An engine that embeds a text as [its length, its first scalar] and records every call's texts.
private final class CountingEngine: InferenceEngine, @unchecked Sendable {
    var calls: [[String]] = []
    func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool) { (2, false) }
    func embed(model: String, texts: [String]) throws -> Vectors {
        calls.append(texts)
        return Vectors(rows: texts.count, dimension: 2, data: texts.flatMap { [Float($0.count), Float($0.unicodeScalars.first!.value)] })
    }
    func score(model: String, query: String, passages: [String]) throws -> [Float] { passages.map { _ in 0 } }
}

/// The coordinator's query-embedding cache: what it keeps and drops, and an engine that computes
/// only the texts it has not seen and still answers every row in order.
final class EmbeddingCacheTests: XCTestCase {
    func testLookupCountsHitsAndMissesAndKeysByModel() {
        let c = EmbeddingCache(capacity: 10)
        XCTAssertNil(c.lookup("de", "a"))
        c.insert("de", "a", [1, 2])
        XCTAssertEqual(c.lookup("de", "a"), [1, 2])
        XCTAssertNil(c.lookup("other", "a"), "another model's row is not this one's")
        XCTAssertEqual(c.hits, 1)
        XCTAssertEqual(c.misses, 2)
    }

    func testHoldsAtMostCapacityAndKeepsRecentlyUsedEntries() {
        let c = EmbeddingCache(capacity: 4)
        for t in ["a", "b", "c", "d", "e", "f"] { c.insert("de", t, [Float(t.count)]) }
        XCTAssertEqual(c.count, 4)
        XCTAssertNil(c.lookup("de", "a"), "the oldest entries go first")
        XCTAssertNotNil(c.lookup("de", "c"))

        // "p" is inserted before "q" but used again after it: "p" stays, "q" (unused) goes.
        let d = EmbeddingCache(capacity: 4)
        d.insert("de", "p", [1]); d.insert("de", "q", [1]); d.insert("de", "r", [1])
        XCTAssertNotNil(d.lookup("de", "p"))
        d.insert("de", "s", [1]); d.insert("de", "t", [1])
        XCTAssertNotNil(d.lookup("de", "p"))
        XCTAssertNil(d.lookup("de", "q"))
        XCTAssertLessThanOrEqual(d.count, 4)
    }

    func testCapacityZeroCachesNothing() throws {
        let inner = CountingEngine()
        let e = CachingEngine(inner, cache: EmbeddingCache(capacity: 0))
        _ = try e.embed(model: "de", texts: ["x"])
        _ = try e.embed(model: "de", texts: ["x"])
        XCTAssertEqual(inner.calls, [["x"], ["x"]])
        XCTAssertEqual(e.cache.count, 0)
    }

    func testEngineComputesOnlyUnseenTextsAndKeepsTheOrder() throws {
        let inner = CountingEngine()
        let e = CachingEngine(inner, cache: EmbeddingCache(capacity: 100))
        let first = try e.embedServing(model: "de", texts: ["aa", "b"], maxBatchTokens: 100)
        let second = try e.embedServing(model: "de", texts: ["ccc", "aa", "dddd", "b"], maxBatchTokens: 100)
        XCTAssertEqual(inner.calls, [["aa", "b"], ["ccc", "dddd"]], "only the texts not seen before reach the engine")
        XCTAssertEqual(first.data, [2, 97, 1, 98])
        XCTAssertEqual(second.rows, 4)
        XCTAssertEqual(second.data, [3, 99, 2, 97, 4, 100, 1, 98], "rows in the request's order, cached and computed alike")
        _ = try e.embed(model: "de", texts: ["b", "ccc"])
        XCTAssertEqual(inner.calls.count, 2, "all cached: no forward pass")
        XCTAssertEqual(e.cache.hits, 4)
        XCTAssertEqual(e.cache.misses, 4)
    }

    /// NFC "café" and NFD "cafe" + U+0301 are equal as Swift Strings but are different bytes, which
    /// the tokenizer may embed differently: the cache must not answer one with the other's row.
    func testCanonicallyEquivalentTextsAreDifferentKeys() {
        let nfc = "caf\u{E9}", nfd = "cafe\u{301}"
        XCTAssertEqual(nfc, nfd, "the premise: Swift compares them equal")
        let c = EmbeddingCache(capacity: 10)
        c.insert("de", nfc, [1])
        XCTAssertNil(c.lookup("de", nfd))
        XCTAssertEqual(c.lookup("de", nfc), [1])
    }

    /// A text over `maxTextBytes` is computed but never kept, so long queries cannot grow the cache
    /// past capacity x (maxTextBytes + a row).
    func testLongTextsAreNotCached() throws {
        let inner = CountingEngine()
        let e = CachingEngine(inner, cache: EmbeddingCache(capacity: 100))
        let long = "q" + String(repeating: " ", count: EmbeddingCache.maxTextBytes)
        let atLimit = String(repeating: "z", count: EmbeddingCache.maxTextBytes)
        _ = try e.embed(model: "de", texts: [long, atLimit])
        _ = try e.embed(model: "de", texts: [long, atLimit])
        XCTAssertEqual(inner.calls, [[long, atLimit], [long]], "the long text is computed each time; the one at the limit is cached")
        XCTAssertEqual(e.cache.count, 1)
    }
}
