import Foundation
import Dispatch
import Kernels
import Index
import CommandLineFlags

/// `strata bench search`: exact top-k throughput of `FlatIndex` (GEMM + bounded heaps) against the
/// naive twin (`naiveSearch`: a dot-product loop and a full sort per query), both measured in this run
/// on the same random L2-normalised vectors.
enum BenchSearchCommand: Subcommand {
    static let spec = CommandSpec("bench search", summary: "exact top-k (FlatIndex) against a naive scan, queries/s at several batch sizes", flags: [
        .int("n", default: 100_000, min: 1, max: 10_000_000, help: "corpus vectors (n x dim floats are held in memory)"),
        .int("dim", default: 384, min: 1, max: 65536, help: "vector dimension"),
        .int("k", default: 10, min: 1, help: "hits per query"),
        .intList("batches", default: "1,32,256", help: "query batch sizes to measure"),
        .double("seconds", "S", default: 2, .above(0), help: "measuring time of each batch size"),
        .int("naive-queries", default: 8, min: 0, help: "queries the naive reference runs (0: skip it)"),
        .int("seed", default: 1, min: 0, help: "seed of the random vectors"),
    ], details: """
    Prints queries/s of FlatIndex.search per batch size, and the naive reference's queries/s on
    --naive-queries queries, with the ratio. Vectors: uniform random, L2-normalised (cosine = inner product).
    """)

    static func run(_ a: Arguments) throws { try runSearchBench(a) }
}

/// The most corpus floats `bench search` allocates (2^31: 8 GiB).
let maxBenchFloats = 1 << 31

func runSearchBench(_ a: Arguments) throws {
    let n = a.int("n")!
    let d = a.int("dim")!
    let k = a.int("k")!
    let seconds = a.double("seconds")!
    let naiveQueries = a.int("naive-queries")!
    let seed = UInt64(a.int("seed")!)
    let batches = a.ints("batches")!
    // n x dim floats are allocated at once: refuse what cannot fit rather than abort in malloc.
    guard n <= maxBenchFloats / d else {
        throw CLIError("--n \(n) x --dim \(d) is more than \(maxBenchFloats) floats (\(maxBenchFloats >> 28) GiB); use a smaller --n or --dim", usage: true)
    }
    note("bench search: generating \(n) x \(d) corpus vectors")
    let corpus = randomUnitRows(n, d, seed: seed)
    let queries = randomUnitRows(max(batches.max() ?? 1, naiveQueries), d, seed: seed &+ 99)
    let index = FlatIndex(dimension: d)
    index.add(corpus)
    let threads = ProcessInfo.processInfo.environment["OPENBLAS_NUM_THREADS"] ?? "default"
    print("exact top-\(k) search, corpus \(n) x \(d) float32, \(ProcessInfo.processInfo.activeProcessorCount) cores, OPENBLAS_NUM_THREADS=\(threads)")

    var naiveQPS = 0.0
    if naiveQueries > 0 {
        let q = Matrix(rows: naiveQueries, cols: d, data: Array(queries.data[0..<(naiveQueries * d)]))
        let (want, dt) = timed { naiveSearch(corpus: corpus, queries: q, k: k) }
        naiveQPS = Double(naiveQueries) / dt
        // Same answers (the check that the benchmark measures a correct search).
        let got = index.search(q, k: k)
        let agree = zip(got, want).allSatisfy { g, w in zip(g, w).allSatisfy { abs($0.score - $1.score) < 1e-4 } }
        print(String(format: "naive reference (loop + full sort): %.1f queries/s over %d queries; FlatIndex agrees: %@",
                     naiveQPS, naiveQueries, agree ? "yes" : "NO"))
    }
    print("batch   queries/s   ms/batch   GFLOP/s   x naive")
    for b in batches {
        let q = Matrix(rows: b, cols: d, data: Array(queries.data[0..<(b * d)]))
        let callsPerSecond = BenchCommand.timeRate(seconds: seconds) { _ = index.search(q, k: k) }
        let qps = callsPerSecond * Double(b)
        let gflops = qps * 2 * Double(n) * Double(d) / 1e9
        let ratio = naiveQPS > 0 ? String(format: "%8.1fx", qps / naiveQPS) : "       -"
        print(String(format: "%5d   %9.1f   %8.2f   %7.1f  ", b, qps, 1000 / callsPerSecond, gflops) + ratio)
    }
}

/// [rows, d] uniform random rows scaled to unit L2 norm (SplitMix64, deterministic for a seed).
func randomUnitRows(_ rows: Int, _ d: Int, seed: UInt64) -> Matrix {
    var m = Matrix(rows: rows, cols: d)
    var g = SplitMix64(seed: seed)
    m.data.withUnsafeMutableBufferPointer { p in
        for r in 0..<rows {
            var norm: Float = 0
            for c in 0..<d {
                let v = g.uniform() * 2 - 1
                p[r * d + c] = v
                norm += v * v
            }
            let inv = 1 / max(norm.squareRoot(), 1e-12)
            for c in 0..<d { p[r * d + c] *= inv }
        }
    }
    return m
}
