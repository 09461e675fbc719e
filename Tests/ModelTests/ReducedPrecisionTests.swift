import Foundation
import Kernels
import Model
import XCTest

/// End to end: bf16 and int8 encoders against the fp32 encoder of the same checkpoint, at the
/// tolerances README.md publishes (per-text cosine of embeddings: bf16 >= 0.999, int8 >= 0.99;
/// CE scores: Spearman >= 0.99 with fp32), on all-MiniLM-L6-v2 and ../shared's cross encoder with real
/// texts (SciFact), and on the committed tiny checkpoints; and the portable C kernels forced on give
/// bit-identical results to the SIMD kernels.
final class ReducedPrecisionTests: XCTestCase {
    override func tearDown() { ReducedPrecisionKernels.forcePortable(nil) }

    static let minCosine: [Precision: Float] = [.bf16: 0.999, .int8: 0.99]

    static var shared: URL {
        ProcessInfo.processInfo.environment["STRATA_SHARED"].map { URL(fileURLWithPath: $0) } ?? Goldens.sharedDefault
    }

    static func miniLM() throws -> URL {
        let root = ProcessInfo.processInfo.environment["STRATA_MODELS"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/strata/models")
        let dir = root.appendingPathComponent("all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) else {
            throw XCTSkip("all-MiniLM-L6-v2 is not in \(root.path) (scripts/setup downloads it)")
        }
        return dir
    }

    static func sharedCrossEncoder() throws -> URL {
        let dir = shared.appendingPathComponent("models/strata-ce-debian")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) else {
            throw XCTSkip("\(dir.path) is absent (STRATA_SHARED)")
        }
        return dir
    }

    /// Real texts: the first `docs` SciFact abstracts (title + text) and `queries` claims.
    static func scifactTexts(docs: Int, queries: Int) throws -> (queries: [String], docs: [String]) {
        let dir = shared.appendingPathComponent("data/scifact")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("corpus.jsonl").path) else {
            throw XCTSkip("\(dir.path) is absent (STRATA_SHARED)")
        }
        func lines(_ name: String, _ n: Int, _ text: ([String: Any]) -> String) throws -> [String] {
            let s = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            return try s.split(separator: "\n").prefix(n).map {
                text(try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])
            }
        }
        let d = try lines("corpus.jsonl", docs) { "\($0["title"] as? String ?? "") \($0["text"] as? String ?? "")" }
        let q = try lines("queries.jsonl", queries) { $0["text"] as? String ?? "" }
        return (q, d)
    }

    static func cosines(_ a: Matrix, _ b: Matrix) -> [Float] {
        (0..<a.rows).map { r in
            let x = a.row(r), y = b.row(r)
            let dot = zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }
            let nx = x.reduce(0) { $0 + $1 * $1 }.squareRoot(), ny = y.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return dot / max(nx * ny, 1e-20)
        }
    }

    /// Spearman rank correlation (average ranks for ties).
    static func spearman(_ a: [Float], _ b: [Float]) -> Double {
        func ranks(_ v: [Float]) -> [Double] {
            let order = v.indices.sorted { v[$0] < v[$1] }
            var r = [Double](repeating: 0, count: v.count)
            var i = 0
            while i < order.count {
                var j = i
                while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
                for t in i...j { r[order[t]] = Double(i + j) / 2 }
                i = j + 1
            }
            return r
        }
        let ra = ranks(a), rb = ranks(b), n = Double(a.count)
        let ma = ra.reduce(0, +) / n, mb = rb.reduce(0, +) / n
        var num = 0.0, da = 0.0, db = 0.0
        for i in ra.indices { num += (ra[i] - ma) * (rb[i] - mb); da += (ra[i] - ma) * (ra[i] - ma); db += (rb[i] - mb) * (rb[i] - mb) }
        return num / (da * db).squareRoot()
    }

    func testSpearmanHelperOnKnownCases() {
        XCTAssertEqual(Self.spearman([1, 2, 3, 4], [10, 20, 30, 40]), 1, accuracy: 1e-12)
        XCTAssertEqual(Self.spearman([1, 2, 3, 4], [4, 3, 2, 1]), -1, accuracy: 1e-12)
        XCTAssertEqual(Self.spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]), 0.8, accuracy: 1e-12)
    }

    func testMiniLMEmbeddingsInBF16AndInt8StayWithinCosineOfFP32() throws {
        #if DEBUG
        throw XCTSkip("runs in release builds (scripts/test); the unoptimised engine is too slow for 160 real texts")
        #endif
        let dir = try Self.miniLM()
        let (q, d) = try Self.scifactTexts(docs: 120, queries: 40)
        let texts = q + d
        let fp32 = try TextEncoder.load(dir.path).embed(texts)
        for p in [Precision.bf16, .int8] {
            let enc = try TextEncoder.load(dir.path, precision: p)
            XCTAssertEqual(enc.precision, p)
            let cos = Self.cosines(try enc.embed(texts), fp32)
            let worst = cos.min()!, mean = cos.reduce(0, +) / Float(cos.count)
            print(String(format: "all-MiniLM-L6-v2 %@: per-text cosine to fp32 over %d SciFact texts: min %.5f, mean %.5f", p.rawValue, cos.count, worst, mean))
            XCTAssertGreaterThanOrEqual(worst, Self.minCosine[p]!, "\(p) worst cosine")
            XCTAssertLessThan(worst, 1, "\(p) must differ from fp32 somewhere (else fp32 ran)")
        }
    }

    func testSharedCrossEncoderScoresRankLikeFP32() throws {
        #if DEBUG
        throw XCTSkip("runs in release builds (scripts/test); the unoptimised engine is too slow for 400 real pairs")
        #endif
        let dir = try Self.sharedCrossEncoder()
        let (q, d) = try Self.scifactTexts(docs: 40, queries: 10)
        let pairs = q.flatMap { qq in d.map { (qq, $0) } }
        let fp32 = try TextEncoder.load(dir.path).score(pairs)
        for p in [Precision.bf16, .int8] {
            let s = try TextEncoder.load(dir.path, precision: p).score(pairs)
            let rho = Self.spearman(s, fp32)
            let maxDiff = zip(s, fp32).map { abs($0 - $1) }.max()!
            print(String(format: "strata-ce-debian %@: Spearman with fp32 over %d pairs %.5f, max |score diff| %.4f", p.rawValue, pairs.count, rho, maxDiff))
            XCTAssertGreaterThanOrEqual(rho, 0.99, "\(p) Spearman")
            XCTAssertGreaterThan(maxDiff, 0, "\(p) must differ from fp32 somewhere (else fp32 ran)")
        }
    }

    /// The committed tiny checkpoints (random weights, hidden 32): same tolerances for embeddings, and
    /// CE logits within 2% of the largest logit's magnitude.
    func testTinyCheckpointsInBF16AndInt8StayCloseToFP32() throws {
        let texts = ["the quick brown fox", "a network server daemon for mail", "hello", "debian packages and their dependencies are listed here"]
        var checked = 0
        for (name, _, dir) in try Goldens.load().present() where name.hasPrefix("tiny") {
            let fp32 = try TextEncoder.load(dir.path)
            let base = try fp32.embed(texts)
            for p in [Precision.bf16, .int8] {
                let enc = try TextEncoder.load(dir.path, precision: p)
                let cos = Self.cosines(try enc.embed(texts), base)
                XCTAssertGreaterThanOrEqual(cos.min()!, Self.minCosine[p]!, "\(name) \(p) cosines \(cos)")
                if enc.kind == .crossEncoder {
                    let pairs = texts.flatMap { a in texts.map { (a, $0) } }
                    let ref = try fp32.score(pairs), got = try enc.score(pairs)
                    let scale = ref.map { abs($0) }.max()!
                    for (g, r) in zip(got, ref) { XCTAssertEqual(g, r, accuracy: 0.02 * scale, "\(name) \(p) CE score") }
                }
            }
            checked += 1
        }
        XCTAssertEqual(checked, 2, "both committed tiny checkpoints must be checked")
    }

    /// STRATA_FORCE_PORTABLE's effect, in one process: the portable C kernels give the same bits.
    func testPortableKernelsGiveTheSameEmbeddingsAndScoresAsSIMD() throws {
        guard ReducedPrecisionKernels.cpuHasInt8SIMD && ReducedPrecisionKernels.cpuHasBF16SIMD else {
            throw XCTSkip("this CPU lacks AVX-512 VNNI / BF16: there is no SIMD path to compare with")
        }
        let texts = ["the quick brown fox jumps over the lazy dog", "mail transfer agent", "x",
                     "a longer text about package dependencies, conflicts and the versions that satisfy them"]
        var dirs = try Goldens.load().present().filter { $0.name.hasPrefix("tiny") }.map(\.directory)
        #if !DEBUG
        if let m = try? Self.miniLM() { dirs.append(m) }
        #endif
        for dir in dirs {
            for p in [Precision.bf16, .int8] {
                let enc = try TextEncoder.load(dir.path, precision: p)
                ReducedPrecisionKernels.forcePortable(false)
                let simd = try enc.embed(texts)
                let simdScores = enc.kind == .crossEncoder ? try enc.score(texts.map { ($0, texts[0]) }) : []
                ReducedPrecisionKernels.forcePortable(true)
                let portable = try enc.embed(texts)
                let portableScores = enc.kind == .crossEncoder ? try enc.score(texts.map { ($0, texts[0]) }) : []
                XCTAssertEqual(simd.data, portable.data, "\(dir.lastPathComponent) \(p) embeddings")
                XCTAssertEqual(simdScores, portableScores, "\(dir.lastPathComponent) \(p) scores")
            }
        }
    }

    func testInt8WeightsTakeAboutAQuarterOfFP32() throws {
        func ratios(_ dir: URL) throws -> (bf16: Double, int8: Double) {
            let weights = try BertWeights.load(directory: dir)
            let fp32 = Double(BertEngine(weights: weights).denseWeightBytes)
            return (Double(BertEngine(weights: weights, precision: .bf16).denseWeightBytes) / fp32,
                    Double(BertEngine(weights: weights, precision: .int8).denseWeightBytes) / fp32)
        }
        // The tiny model's rows are 32 or 64 weights, so the 8 bytes of scale and sum per int8 channel
        // add up to 25%; on MiniLM (rows of 384 and 1536) they are under 2%.
        let tiny = try ratios(try Goldens.load().present().first { $0.name == "tiny-ce" }!.directory)
        XCTAssertLessThanOrEqual(tiny.int8, 0.32)
        XCTAssertEqual(tiny.bf16, 0.5, accuracy: 1e-9)
        let mini = try ratios(try Self.miniLM())
        XCTAssertLessThanOrEqual(mini.int8, 0.26, "MiniLM int8 / fp32 dense weight bytes")
        XCTAssertEqual(mini.bf16, 0.5, accuracy: 1e-9)
    }
}
