import Foundation
import Kernels
import Model
import CommandLineFlags

/// `strata bench <what>`: benchmarks that print ratios against a baseline measured in the same run.
enum BenchCommand {
    static let group = CommandGroup("bench", summary: "benchmarks: encoder throughput vs the machine's sgemm rate, and more", details: """
      encoder   tokens/s of the encoder against the rate of its own GEMM (packed fp32, bf16 or int8) measured in the same run
      kernels   GELU, softmax and LayerNorm against their naive twins.
      gemm      GFLOP/s of the fp32, bf16 and int8 linear layers at the encoder's shapes (M x 384 x 384,
                x 1536, 1536 x 384, x 1152), bias included; set beside oneDNN by scripts/bench-onednn.
      search    exact top-k (FlatIndex) against a naive scan, queries/s at several batch sizes.
      cluster   query latency and QPS with 1 and 2 workers, merge overhead, batch-job docs/s,
                each against a single-process run measured in the same run.
      train     training examples/s and the fraction of the sgemm rate measured in the same run.
    """)

    /// Calls `body` repeatedly for about `seconds` (after one warm-up call); returns calls per second.
    static func timeRate(seconds: Double, _ body: () -> Void) -> Double {
        body()
        var n = 0
        let start = DispatchTime.now().uptimeNanoseconds
        var el = 0.0
        repeat {
            body(); n += 1
            el = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while el < seconds
        return Double(n) / el
    }
}

/// `strata bench encoder`: encoder tokens/s and GFLOP/s against the GEMM rate measured in the same run.
enum BenchEncoderCommand: Subcommand {
    static let spec = CommandSpec("bench encoder", summary: "encoder tokens/s and GFLOP/s as a percentage of the rate of the GEMM its dense layers run, measured in the same run beside sgemm", flags: [
        .string("model", "DIR", defaultNote: "the default dual encoder (all-MiniLM-L6-v2)", help: "the model to run"),
        .int("seq", default: 128, min: 2, help: "tokens per text (at most the model's max positions)"),
        .int("batch", default: 32, min: 1, max: 1024, help: "texts per batch"),
        .int("layers", "K", min: 1, help: "also run only the first K layers (e.g. a DE-2) and print the speed-up against the full model"),
        .double("seconds", "S", default: 10, .above(0), help: "measuring time of each rate"),
        CommonFlags.threads,
        CommonFlags.precision("bf16 / int8 measure the bf16 / int8 GEMM rate instead of sgemm as the peak, and also run the fp32 engine on the same batch for the speed-up over fp32"),
    ], details: """
      Batches of --batch random texts of --seq tokens; the GEMM baseline has the shape of the
      feed-forward matmul: [batch*seq, hidden] x [hidden, intermediate].
    """)

    static func run(_ a: Arguments) throws {
        try applyThreads(a)
        let precision = try PrecisionOption.parse(a)
        let modelPath = a.string("model") ?? ModelLocator.defaultDualEncoder.path
        let encoder = try TextEncoder.load(modelPath, precision: precision)
        let cfg = encoder.config
        let seq = try a.int("seq", within: 2...cfg.maxPositionEmbeddings)!
        let bsz = a.int("batch")!
        let seconds = a.double("seconds")!
        let sub = try a.int("layers", within: 1...cfg.numHiddenLayers)
        let h = cfg.hiddenSize, inter = cfg.intermediateSize

        // Peaks measured in this run on the feed-forward shape [batch*seq, hidden] x [hidden, intermediate]:
        // the GEMM the encoder's dense layers run (PackedLinear: the packed fp32 kernel, or sgemm with
        // STRATA_FP32_GEMM=sgemm; the bf16 / int8 kernel with activations converted or quantized per call),
        // beside OpenBLAS sgemm as the common baseline.
        let m = bsz * seq
        var rng = SplitMix64(seed: 1)
        let x = (0..<(m * h)).map { _ in rng.uniform() - 0.5 }, w = (0..<(inter * h)).map { _ in (rng.uniform() - 0.5) * 0.1 }
        var y = [Float](repeating: 0, count: m * inter)
        let gemmOps = 2.0 * Double(m * inter * h) / 1e9
        let sgemmRate = BenchCommand.timeRate(seconds: seconds / 4) {
            sgemm(transB: true, m: m, n: inter, k: h, a: x, lda: h, b: w, ldb: h, c: &y, ldc: inter)
        } * gemmOps
        var peak = sgemmRate
        let packedFP32 = precision == .fp32 && FP32Gemm.process == .packed
        if precision != .fp32 || packedFP32 {
            let layer = PackedLinear(weight: w, bias: [Float](repeating: 0, count: inter), outFeatures: inter, inFeatures: h, precision: precision)
            peak = BenchCommand.timeRate(seconds: seconds / 4) { layer.apply(x, rows: m, out: &y, addBias: false) } * gemmOps
        }

        // Random ids among the ordinary word pieces (BERT vocabularies put [PAD], [unusedN] and the
        // special tokens below 2000); a small test vocabulary draws from all of it.
        let firstWord = cfg.vocabSize > 4000 ? 2000 : 0
        let seqs: [(ids: [Int32], typeIds: [Int32])] = (0..<bsz).map { _ in
            let ids = [encoder.tokenizer.clsId] + (0..<(seq - 2)).map { _ in Int32(firstWord + Int(rng.next() % UInt64(cfg.vocabSize - firstWord))) } + [encoder.tokenizer.sepId]
            return (ids, [Int32](repeating: 0, count: seq))
        }
        let batch = PackedBatch(seqs.map { (ids: $0.ids, types: $0.typeIds) })
        func flopsPerToken(_ layers: Int) -> Double {
            Double(layers) * (2.0 * Double(4 * h * h + 2 * h * inter) + 4.0 * Double(seq * h))
        }
        func run(_ engine: BertEngine, _ layers: Int) -> Double {
            BenchCommand.timeRate(seconds: seconds) { engine.forward(batch, layers: [layers]) { _, _ in } } * Double(bsz * seq)
        }
        let full = run(encoder.engine, cfg.numHiddenLayers)
        let fullGflops = full * flopsPerToken(cfg.numHiddenLayers) / 1e9
        let peakName = precision == .fp32 && !packedFP32 ? "sgemm" : "\(precision) GEMM"
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, BLAS threads \(BLASThreads.count); kernels: \(ReducedPrecisionKernels.summary)")
        print(String(format: "sgemm [%d x %d] x [%d x %d]: %.1f GFLOP/s (baseline, same run)", m, h, h, inter, sgemmRate))
        if precision != .fp32 || packedFP32 {
            print(String(format: "%@ GEMM [%d x %d] x [%d x %d]: %.1f G(FL)OP/s, %.2fx sgemm (same run)",
                         precision.rawValue, m, h, h, inter, peak, peak / sgemmRate))
        }
        print(String(format: "encoder %@ %@ (%d layers, hidden %d), batch %d x %d tokens: %.0f tokens/s, %.1f GFLOP/s = %.1f%% of %@",
                     encoder.directory.lastPathComponent, precision.rawValue, cfg.numHiddenLayers, h, bsz, seq, full, fullGflops,
                     100 * fullGflops / peak, peakName))
        // The reduced precisions are also compared with the fp32 engine in this run.
        var fp32Full = full
        if precision != .fp32 {
            let fp32 = try TextEncoder.load(modelPath).engine
            fp32Full = run(fp32, cfg.numHiddenLayers)
            print(String(format: "fp32 engine, same batch: %.0f tokens/s; %@ is %.2fx fp32", fp32Full, precision.rawValue, full / fp32Full))
            print(String(format: "encoder layers' dense weights: %.1f MB in %@, %.1f MB in fp32 (%.2fx)",
                         Double(encoder.engine.denseWeightBytes) / 1e6, precision.rawValue, Double(fp32.denseWeightBytes) / 1e6,
                         Double(encoder.engine.denseWeightBytes) / Double(fp32.denseWeightBytes)))
        }
        if let sub {
            let part = run(encoder.engine, sub)
            print(String(format: "first %d layers: %.0f tokens/s, %.2fx the %d-layer model (layer ratio %.2fx)",
                         sub, part, part / full, cfg.numHiddenLayers, Double(cfg.numHiddenLayers) / Double(sub)))
            if precision != .fp32 {
                print(String(format: "first %d layers in %@: %.2fx the %d-layer fp32 model", sub, precision.rawValue, part / fp32Full, cfg.numHiddenLayers))
            }
        }
    }
}

/// `strata bench kernels`: each element-wise kernel against its naive twin on MiniLM-sized buffers.
enum BenchKernelsCommand: Subcommand {
    static let spec = CommandSpec("bench kernels", summary: "GELU, softmax and LayerNorm against their naive twins (M elements/s, speed-up); fused attention against per-head sgemm + softmax", flags: [
        .double("seconds", "S", default: 1, .above(0), help: "measuring time of each rate"),
    ])

    static func run(_ a: Arguments) throws {
        let seconds = a.double("seconds")!
        let n = 4096 * 1536
        var x = (0..<n).map { Float($0 % 97) / 13 - 3.5 }
        let g = [Float](repeating: 1.1, count: 384), b = [Float](repeating: 0.1, count: 384)
        func report(_ name: String, _ elements: Int, fast: () -> Void, naive: () -> Void) {
            let f = BenchCommand.timeRate(seconds: seconds, fast), r = BenchCommand.timeRate(seconds: seconds, naive)
            print(String(format: "%-10@ %8.1f M elements/s   naive %8.1f M/s   speed-up %.1fx",
                         name, f * Double(elements) / 1e6, r * Double(elements) / 1e6, f / r))
        }
        report("gelu", n, fast: { geluInPlace(&x, count: n) }, naive: { geluReference(&x, count: n) })
        report("softmax", n, fast: { softmaxRows(&x, rows: n / 128, cols: 128, ld: 128, scale: 0.2) },
               naive: { softmaxRowsReference(&x, rows: n / 128, cols: 128, ld: 128, scale: 0.2) })
        report("layernorm", n, fast: { layerNormRows(&x, rows: n / 384, cols: 384, gamma: g, beta: b, eps: 1e-12) },
               naive: { layerNormRowsReference(&x, rows: n / 384, cols: 384, gamma: g, beta: b, eps: 1e-12) })
        // attention of 8 x 128 tokens, MiniLM's 12 heads of 32, one thread: the fused kernel against what it
        // replaced (per head: sgemm scores, softmaxRows, sgemm P v)
        let (seqs, len, hidden, heads) = (8, 128, 384, 12)
        let d = hidden / heads, ld = 3 * hidden
        let qkv = (0..<(seqs * len * ld)).map { Float($0 % 89) / 45 - 1 }
        var ctx = [Float](repeating: 0, count: seqs * len * hidden), p = [Float](repeating: 0, count: len * len)
        let fused = BenchCommand.timeRate(seconds: seconds) {
            attentionForward(ctx: &ctx, probs: nil, dropped: nil, qkv: qkv, lengths: Array(repeating: len, count: seqs),
                             dropMask: nil, hidden: hidden, heads: heads, parallelism: .serial)
        }
        let blas = BLASThreads.singleThreaded {
            BenchCommand.timeRate(seconds: seconds) {
                qkv.withUnsafeBufferPointer { qp in
                    ctx.withUnsafeMutableBufferPointer { cp in
                        for s in 0..<seqs {
                            for h in 0..<heads {
                                let q = qp.baseAddress! + s * len * ld + h * d
                                sgemm(transB: true, m: len, n: len, k: d, alpha: 1 / Float(d).squareRoot(), a: q, lda: ld,
                                      b: q + hidden, ldb: ld, c: &p, ldc: len)
                                softmaxRows(&p, rows: len, cols: len, ld: len, scale: 1)
                                sgemm(m: len, n: d, k: len, a: p, lda: len, b: q + 2 * hidden, ldb: ld,
                                      c: cp.baseAddress! + s * len * hidden + h * d, ldc: hidden)
                            }
                        }
                    }
                }
            }
        }
        let flops = Double(seqs * heads * 4 * len * len * d)
        print(String(format: "attention  %8.1f GFLOP/s fused   sgemm+softmax %6.1f GFLOP/s   speed-up %.1fx  (%d x %d tokens, %d heads of %d, 1 thread)",
                     fused * flops / 1e9, blas * flops / 1e9, fused / blas, seqs, len, heads, d))
    }
}
