import Foundation
import Kernels

extension BenchCommand {
    /// `strata bench gemm`: Strata's GEMM rates at the encoder's shapes, y[M, N] = x[M, K] · W[N, K]^T with
    /// M = batch x seq tokens and (K, N) = (384, 384) attention output, (384, 1536) intermediate, (1536, 384)
    /// output, (384, 1152) fused QKV: fp32 = OpenBLAS sgemm; bf16 and int8 = PackedLinear as the encoder calls
    /// it (activations converted / quantized per row inside the call, bias and dequantization fused).
    /// For setting beside other libraries (scripts/bench-onednn). GFLOP/s (GOP/s for int8) = 2 M N K / s.
    static func gemmBench(_ args: [String]) throws {
        let a = try Arguments(args, command: "bench gemm", options: ["m", "seconds", "threads"])
        try applyThreads(a)
        let m = try a.int("m", default: 4096, min: 1, max: 1 << 20)!
        let seconds = try a.double("seconds", default: 1)!
        print("machine: \(ProcessInfo.processInfo.activeProcessorCount) cores, BLAS threads \(BLASThreads.count); kernels: \(ReducedPrecisionKernels.summary)")
        var rng = SplitMix64(seed: 1)
        for (k, n) in [(384, 384), (384, 1536), (1536, 384), (384, 1152)] {
            let x = (0..<(m * k)).map { _ in (rng.uniform() - 0.5) * 2 }, w = (0..<(n * k)).map { _ in (rng.uniform() - 0.5) * 0.1 }
            let b = (0..<n).map { _ in rng.uniform() - 0.5 }
            var y = [Float](repeating: 0, count: m * n)
            let ops = 2.0 * Double(m * n * k) / 1e9
            var line = String(format: "M %d K %4d N %4d", m, k, n)
            for p in Precision.allCases {
                let layer = PackedLinear(weight: w, bias: b, outFeatures: n, inFeatures: k, precision: p)
                let r = timeRate(seconds: seconds) { layer.apply(x, rows: m, out: &y) } * ops
                line += String(format: "  %@ %7.1f", p.rawValue, r)
            }
            print(line + "  G(FL)OP/s")
        }
    }
}
