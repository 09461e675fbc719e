import Foundation
import Kernels
import CommandLineFlags

/// `strata bench gemm`: Strata's GEMM rates at the encoder's shapes.
enum BenchGemmCommand: Subcommand {
    static let spec = CommandSpec("bench gemm", summary: "GFLOP/s of the fp32 (packed and sgemm), bf16 and int8 linear layers at the encoder's shapes (beside oneDNN: scripts/bench-onednn)", flags: [
        .int("m", default: 4096, min: 1, max: 1 << 20, help: "rows (tokens) of the activations"),
        .double("seconds", "S", default: 1, .above(0), help: "measuring time of each rate"),
        CommonFlags.threads,
    ])

    /// `strata bench gemm`: Strata's GEMM rates at the encoder's shapes, y[M, N] = x[M, K] · W[N, K]^T with
    /// M = batch x seq tokens and (K, N) = (384, 384) attention output, (384, 1536) intermediate, (1536, 384)
    /// output, (384, 1152) fused QKV: fp32 = the packed fp32 kernel, sgemm = OpenBLAS sgemm (`linearForward`;
    /// `fp32/sgemm` is their ratio, measured alternately in this run); bf16 and int8 = PackedLinear as the encoder calls
    /// it (activations converted / quantized per row inside the call, bias and dequantization fused).
    /// For setting beside other libraries (scripts/bench-onednn). GFLOP/s (GOP/s for int8) = 2 M N K / s.
    static func run(_ a: Arguments) throws {
        try applyThreads(a)
        let m = a.int("m")!
        let seconds = a.double("seconds")!
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, BLAS threads \(BLASThreads.count); kernels: \(ReducedPrecisionKernels.summary)")
        var rng = SplitMix64(seed: 1)
        for (k, n) in [(384, 384), (384, 1536), (1536, 384), (384, 1152)] {
            let x = (0..<(m * k)).map { _ in (rng.uniform() - 0.5) * 2 }, w = (0..<(n * k)).map { _ in (rng.uniform() - 0.5) * 0.1 }
            let b = (0..<n).map { _ in rng.uniform() - 0.5 }
            var y = [Float](repeating: 0, count: m * n)
            let ops = 2.0 * Double(m * n * k) / 1e9
            var line = String(format: "M %d K %4d N %4d", m, k, n)
            let packed = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .fp32, fp32Gemm: .packed)
            let sgemm = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: .fp32, fp32Gemm: .sgemm)
            // Alternate the two fp32 GEMMs (three rounds each, median) so that load on a shared machine hits both.
            var rp: [Double] = [], rs: [Double] = []
            for _ in 0..<3 {
                rp.append(BenchCommand.timeRate(seconds: seconds / 3) { packed.apply(x, rows: m, out: &y) } * ops)
                rs.append(BenchCommand.timeRate(seconds: seconds / 3) { sgemm.apply(x, rows: m, out: &y) } * ops)
            }
            let fp = rp.sorted()[1], sg = rs.sorted()[1]
            line += String(format: "  fp32 %7.1f  sgemm %7.1f  (fp32/sgemm %.2fx)", fp, sg, fp / sg)
            for p in Precision.allCases where p != .fp32 {
                let layer = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: p)
                let r = BenchCommand.timeRate(seconds: seconds) { layer.apply(x, rows: m, out: &y) } * ops
                line += String(format: "  %@ %7.1f", p.rawValue, r)
            }
            print(line + "  G(FL)OP/s")
        }
    }
}
