import Foundation
import Kernels
import Model
import XCTest

/// The engine's forward buffers: reused between forwards, freed past the cap and when idle, and an
/// engine's results do not depend on what the buffers held before.
final class ForwardScratchTests: XCTestCase {
    func testBuffersAreReusedBetweenForwardsAndGrowWhenNeeded() {
        let s = ForwardScratch(maxCachedBytes: 1 << 30, idleSeconds: 3600)
        s.beginForward()
        let a = s.floats(slot: 0, count: 100_000), b = s.floats(slot: 1, count: 10)
        a[99_999] = 1; b[9] = 2
        s.endForward()
        XCTAssertGreaterThanOrEqual(s.heldBytes, 400_040)
        s.beginForward()
        XCTAssertEqual(s.floats(slot: 0, count: 50_000), a, "a smaller request reuses the slot's buffer")
        XCTAssertEqual(s.floats(slot: 1, count: 10), b)
        let grown = s.floats(slot: 1, count: 1_000_000)
        grown[999_999] = 3                                   // the grown buffer is writable to its end
        s.endForward()
        XCTAssertGreaterThanOrEqual(s.heldBytes, 4_400_000)
        s.releaseNow()
        XCTAssertEqual(s.heldBytes, 0)
    }

    func testForwardOverTheCapFreesItsBuffersWhenItEnds() {
        let s = ForwardScratch(maxCachedBytes: 1 << 20, idleSeconds: 3600)
        s.beginForward()
        _ = s.floats(slot: 0, count: 200_000)
        _ = s.floats(slot: 1, count: 200_000)               // 1.6 MB > 1 MiB
        XCTAssertGreaterThan(s.heldBytes, 1 << 20, "held while the forward runs")
        s.endForward()
        XCTAssertEqual(s.heldBytes, 0)
    }

    func testIdleBuffersAreReleased() {
        let s = ForwardScratch(maxCachedBytes: 1 << 30, idleSeconds: 0.05)
        s.beginForward()
        _ = s.floats(slot: 0, count: 1 << 20)
        s.endForward()
        XCTAssertGreaterThan(s.heldBytes, 0)
        let deadline = Date().addingTimeInterval(10)
        while s.heldBytes > 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertEqual(s.heldBytes, 0, "released after the idle time")
        // and a forward still running is never released under it
        s.beginForward()
        let p = s.floats(slot: 0, count: 1000)
        Thread.sleep(forTimeInterval: 0.2)
        XCTAssertGreaterThan(s.heldBytes, 0, "not released during a forward")
        p[999] = 1
        s.endForward()
    }

    /// An engine's hidden states do not depend on what the kept buffers held before: a batch run on
    /// fresh buffers, then after a larger batch (its values left in the buffers), gives the same bits,
    /// split over two threads or not.
    func testEngineResultsDoNotDependOnStaleBufferContents() throws {
        guard let (_, _, dir) = try Goldens.load().present().first else { throw XCTSkip("no golden model present") }
        let engine = BertEngine(weights: try BertWeights.load(directory: dir), precision: .int8)
        let h = engine.config.hiddenSize
        func batch(_ count: Int, _ len: Int, _ seed: Int32) -> PackedBatch {
            PackedBatch((0..<count).map { b in
                (ids: [101] + (0..<(len + b % 3)).map { 1000 + (seed * 31 + Int32($0 * 7 + b)) % 5000 } + [102],
                 types: [Int32](repeating: 0, count: len + b % 3 + 2))
            })
        }
        let small = batch(5, 9, 1), large = batch(12, 40, 2)
        func run(_ b: PackedBatch) -> [Float] { lastHidden(engine, b, also: [0]) }
        for threads in [1, 2] {
            engine.parallelism = Parallelism(threads: threads)
            ForwardScratch.shared.releaseNow()
            let fresh = run(small)
            _ = run(large)
            XCTAssertGreaterThan(ForwardScratch.shared.heldBytes, large.tokenCount * h * 4, "buffers kept after a forward")
            XCTAssertEqual(run(small).map(\.bitPattern), fresh.map(\.bitPattern), "threads \(threads)")
            XCTAssertGreaterThan(fresh.map(abs).max() ?? 0, 0.1)
        }
        engine.parallelism = nil
    }

    /// Passes of a few tokens (`passTokens`) give the same bits as one pass for the whole batch, in
    /// every precision and thread count: each kernel computes a row (attention a sequence) alone.
    func testPassesOfFewTokensGiveTheSameBitsAsOnePass() throws {
        guard let (_, _, dir) = try Goldens.load().present().first else { throw XCTSkip("no golden model present") }
        let weights = try BertWeights.load(directory: dir)
        let batch = PackedBatch((0..<9).map { b in
            (ids: [101] + (0..<(5 + 4 * b)).map { 1000 + Int32(($0 * 13 + b * 7) % 4000) } + [102],
             types: [Int32](repeating: 0, count: 7 + 4 * b))
        })
        for precision in Precision.allCases {
            // the packed fp32 GEMM (OpenBLAS, the default without AVX-512F, may round a row differently
            // with another row count)
            let engine = BertEngine(weights: weights, precision: precision, fp32Gemm: .packed)
            func run() -> [Float] { lastHidden(engine, batch, also: [1]) }
            for threads in [1, 2] {
                engine.parallelism = Parallelism(threads: threads)
                engine.passTokens = Int.max
                let whole = run()
                for tokens in [1, 30, 64] {
                    engine.passTokens = tokens
                    XCTAssertEqual(run().map(\.bitPattern), whole.map(\.bitPattern), "\(precision), \(threads) threads, passes of \(tokens) tokens")
                }
            }
            XCTAssertEqual(BertEngine.passes(batch, 0..<9, maxTokens: 30).map(\.count), [2, 1, 1, 1, 1, 1, 1, 1], "consecutive, at most 30 tokens (lengths 7, 11, 15, ...; 31 and longer alone)")
        }
    }

    /// A sequence's hidden states do not depend on the batch it runs in, at 2 threads, in every
    /// precision: alone (one group, rows split over the threads) and in a batch of 9 (one group per
    /// thread) give the same bits. (With OpenBLAS in attention, int8 and bf16 moved by up to 0.009.)
    func testASequenceGivesTheSameBitsAloneAndInABatch() throws {
        guard let (_, _, dir) = try Goldens.load().present().first else { throw XCTSkip("no golden model present") }
        let weights = try BertWeights.load(directory: dir)
        let seqs: [(ids: [Int32], types: [Int32])] = (0..<9).map { b in
            (ids: [101] + (0..<(20 + 5 * b)).map { 1000 + Int32(($0 * 17 + b * 5) % 4000) } + [102],
             types: [Int32](repeating: 0, count: 22 + 5 * b))
        }
        for precision in Precision.allCases {
            // the packed fp32 GEMM (OpenBLAS, the default without AVX-512F, may round a row differently
            // with another row count)
            let engine = BertEngine(weights: weights, precision: precision, fp32Gemm: .packed)
            engine.parallelism = Parallelism(threads: 2)
            let h = engine.config.hiddenSize
            func run(_ b: PackedBatch) -> [Float] { lastHidden(engine, b) }
            let batch = PackedBatch(seqs)
            let all = run(batch)
            for b in [0, 4, 8] {
                let alone = run(PackedBatch([seqs[b]]))
                let start = batch.offsets[b] * h
                XCTAssertEqual(alone.map(\.bitPattern), all[start..<(start + alone.count)].map(\.bitPattern), "\(precision), sequence \(b)")
            }
        }
    }

    /// The last layer's hidden states [tokens, H] of `batch`, with `also` requested too (so that
    /// the forward visits more than one layer, as callers of layer-k embeddings do).
    private func lastHidden(_ engine: BertEngine, _ batch: PackedBatch, also: Set<Int> = []) -> [Float] {
        let h = engine.config.hiddenSize, last = engine.config.numHiddenLayers
        var out: [Float] = []
        engine.forward(batch, layers: also.union([last])) { layer, hidden in
            if layer == last { out = Array(UnsafeBufferPointer(start: hidden, count: batch.tokenCount * h)) }
        }
        return out
    }
}
