import Foundation
import Kernels
import Train
import CommandLineFlags

/// `strata bench train`: training throughput of a BERT DE (MiniLM-L6 shapes by default; MNRL steps on
/// random 128-token texts) against the sgemm rate measured in the same run, interleaved with the steps.
/// Prints examples/s (pairs: 2 sequences each), tokens/s, the achieved matmul GFLOP/s (3x the forward
/// matmul FLOPs) and that as a fraction of sgemm's.
enum BenchTrainCommand: Subcommand {
    static let spec = CommandSpec("bench train", summary: "training examples/s and the fraction of the sgemm rate measured in the same run", flags: [
        .int("layers", default: 2, min: 1, max: 48, help: "encoder layers of the DE"),
        .int("seq", default: 128, min: 4, max: 512, help: "tokens per text"),
        .int("batch", default: 16, min: 1, max: 4096, help: "(query, positive) pairs per step"),
        .int("steps", default: 5, min: 1, max: 1000, help: "measured steps (after one warm-up step); the median is printed"),
        .int("hidden", default: 384, min: 8, help: "hidden size (divisible by --heads)"),
        .int("heads", default: 12, min: 1, help: "attention heads"),
        .int("intermediate", default: 1536, min: 8, help: "feed-forward size"),
        CommonFlags.threads,
    ])

    static func run(_ a: Arguments) throws { try runTrainBench(a) }
}

func runTrainBench(_ a: Arguments) throws {
    try applyThreads(a)
    let layers = a.int("layers")!
    let seq = a.int("seq")!
    let pairs = a.int("batch")!
    let steps = a.int("steps")!
    let h = a.int("hidden")!, heads = a.int("heads")!
    let inter = a.int("intermediate")!
    guard h % heads == 0 else { throw CLIError("--hidden \(h) is not divisible by --heads \(heads)", usage: true) }

    let n = 2 * pairs * seq
    let model = TrainableBert(shape: BertShape(vocabSize: 30522, maxPositions: 512, typeVocabSize: 2, hidden: h, layers: layers,
                                               heads: heads, intermediate: inter, hasClassifier: false))
    var rng = SplitMix64(seed: 1)
    model.initialize(rng: &rng)
    var words = SplitMix64(seed: 2)
    let text = { (_: String) -> TokenIDs in
        let ids = [Int32(101)] + (0..<(seq - 2)).map { _ in Int32(1000 + words.next() % 20000) } + [Int32(102)]
        return (ids, [Int32](repeating: 0, count: seq))
    }
    let ex = (0..<(pairs * (steps + 1))).map { TrainingExample(query: "q\($0)", positive: "p\($0)") }
    var o = TrainOptions(); o.batchSize = pairs; o.maxSteps = steps + 1; o.epochs = 1; o.lr = 1e-5
    let trainer = try Trainer(model: model, examples: ex, tokenizer: TextTokenizer(single: text, pair: { a, _ in text(a) }), options: o)
    try trainer.step()   // warm-up: allocates activations
    // matmul FLOPs of one forward per token: 2 * (4 H^2 + 2 H I) per layer + attention 2 * 2 * S * H; training = 3x forward
    let perToken = Double(layers) * (2 * Double(4 * h * h + 2 * h * inter) + 4 * Double(seq * h))
    let flops = 3 * perToken * Double(n)
    // Rounds of (sgemm baseline on the feed-forward shape [N, H] x [H, I], one training step), so both see the same
    // machine load; medians over the rounds.
    var times: [Double] = [], ratios: [Double] = [], rates: [Double] = []
    for _ in 0..<steps {
        let sg = trainBenchSgemm(m: n, n: inter, k: h)
        let t0 = Date()
        try trainer.step()
        let dt = Date().timeIntervalSince(t0)
        times.append(dt); rates.append(sg); ratios.append(flops / dt / 1e9 / sg)
    }
    let med = { (v: [Double]) in v.sorted()[v.count / 2] }
    let dt = med(times), sg = med(rates), gf = flops / dt / 1e9
    print("train DE-\(layers) (H \(h), I \(inter), \(heads) heads), \(pairs) pairs x 2 x \(seq) tokens per step, median of \(steps) rounds:")
    print(String(format: "  %.1f ms/step, %.1f examples/s (pairs), %.0f tokens/s", dt * 1e3, Double(pairs) / dt, Double(n) / dt))
    print(String(format: "  matmul work %.1f GFLOP/s; sgemm %.1f GFLOP/s (%dx%dx%d, same rounds); ratio %.0f%% (median of per-round ratios)",
                 gf, sg, n, inter, h, 100 * med(ratios)))
}

/// GFLOP/s of Kernels.sgemm on [m, k] x [k, n] (best of 3 after a warm-up).
func trainBenchSgemm(m: Int, n: Int, k: Int) -> Double {
    let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
    var c = [Float](repeating: 0, count: m * n)
    var best = Double.infinity
    for i in 0..<4 {
        let t0 = Date()
        sgemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n)
        let t = Date().timeIntervalSince(t0)
        if i > 0 { best = min(best, t) }
    }
    return 2 * Double(m) * Double(n) * Double(k) / best / 1e9
}
