import CStrataKernels
import Foundation

/// Numeric precision of an encoder's dense (linear) layers. LayerNorm, softmax, GELU and attention
/// stay fp32 in every precision.
public enum Precision: String, CaseIterable, Sendable {
    /// fp32 weights: the packed fp32 kernel (weights packed once at load, AVX-512F FMA, portable C twin
    /// with the same bits); `STRATA_FP32_GEMM=sgemm` selects OpenBLAS sgemm instead.
    case fp32
    /// bf16 weights and activations (converted per call, round to nearest even), fp32 accumulation
    /// (AVX-512 BF16 `vdpbf16ps`).
    case bf16
    /// int8 weights (symmetric, one scale per output channel), activations quantized per row on the
    /// fly (symmetric, stored as u8 with a +128 offset), int32 accumulation (AVX-512 VNNI `vpdpbusd`),
    /// dequantize and bias fused on the output.
    case int8

    /// Parses a `--precision` value, or explains the choices.
    public static func parse(_ s: String) throws -> Precision {
        guard let p = Precision(rawValue: s) else {
            throw PrecisionError("--precision must be fp32, bf16 or int8, got '\(s)'")
        }
        return p
    }
}

/// A bad precision setting (the message names it).
public struct PrecisionError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Which reduced-precision kernels run on this machine.
public enum ReducedPrecisionKernels {
    /// True when the AVX-512 VNNI int8 kernel runs (the CPU has it and the portable path is not forced).
    public static var int8SIMD: Bool { sk_int8_simd_active() != 0 }
    /// True when the AVX-512 BF16 kernel runs (the CPU has it and the portable path is not forced).
    public static var bf16SIMD: Bool { sk_bf16_simd_active() != 0 }
    /// True when the CPU has AVX-512 VNNI (whatever is forced).
    public static var cpuHasInt8SIMD: Bool { sk_cpu_has_int8_simd() != 0 }
    /// True when the CPU has AVX-512 BF16 (whatever is forced).
    public static var cpuHasBF16SIMD: Bool { sk_cpu_has_bf16_simd() != 0 }

    /// Forces the portable C kernels (true), the SIMD ones where the CPU has them (false), or returns
    /// to the environment's choice (nil: `STRATA_FORCE_PORTABLE=1` forces the portable path).
    /// Both paths compute the same bits; this exists so tests can compare them in one process.
    public static func forcePortable(_ force: Bool?) {
        sk_set_force_portable(force.map { $0 ? 1 : 0 } ?? -1)
    }

    /// True when the AVX-512F fp32 kernel runs (the CPU has it and the portable path is not forced).
    public static var fp32SIMD: Bool { sk_f32_simd_active() != 0 }
    /// True when the CPU has AVX-512F and FMA (whatever is forced).
    public static var cpuHasFP32SIMD: Bool { sk_cpu_has_f32_simd() != 0 }

    /// A one-line description of the kernels in use, e.g. for benchmark output.
    public static var summary: String {
        "fp32 \(FP32Gemm.process == .sgemm ? "OpenBLAS sgemm" : fp32SIMD ? "packed AVX-512F" : "packed portable C"), int8 \(int8SIMD ? "AVX-512 VNNI" : "portable C"), bf16 \(bf16SIMD ? "AVX-512 BF16" : "portable C")"
    }
}

/// The fp32 GEMM behind `PackedLinear`'s fp32 layers.
public enum FP32Gemm: String, Sendable {
    /// Weights packed once into panels of 16 output channels, `sk_f32_linear` (AVX-512F FMA or its
    /// portable twin; the same bits either way, independent of the batch and of the thread split).
    case packed
    /// OpenBLAS sgemm on the [out, in] weights (`linearForward`), which packs them again on every call.
    case sgemm

    /// The process's choice, read once so that every layer of a process uses the same GEMM:
    /// `STRATA_FP32_GEMM=sgemm` or `=packed` when set; otherwise the packed kernel on a CPU with
    /// AVX-512F, and OpenBLAS sgemm on one without: the packed kernel's portable twin makes one `fmaf`
    /// call per multiply-add, 30-45x slower than sgemm (it exists to check the SIMD path's bits, which
    /// `STRATA_FORCE_PORTABLE=1` on an AVX-512 CPU still does with the packed kernel).
    public static let process: FP32Gemm = choice(environment: ProcessInfo.processInfo.environment["STRATA_FP32_GEMM"],
                                                 cpuHasSIMD: sk_cpu_has_f32_simd() != 0)

    /// The rule behind `process` (for tests).
    public static func choice(environment: String?, cpuHasSIMD: Bool) -> FP32Gemm {
        switch environment {
        case "sgemm": return .sgemm
        case "packed": return .packed
        default: return cpuHasSIMD ? .packed : .sgemm
        }
    }
}

/// The weights of one linear layer y = x W^T + b, held in the layer's precision and laid out for its
/// kernel: fp32 panels of 16 output channels ([N/16][K][16]; or [out, in] row-major for sgemm), bf16 panels of 16 output channels
/// ([N/16][K/2][16][2]), or int8 panels ([N/16][K/4][16][4]) with per-channel scales and the
/// per-channel sums of the quantized weights (for the u8 +128 activation offset).
public final class PackedLinear: @unchecked Sendable {
    public let precision: Precision
    public let outFeatures: Int
    public let inFeatures: Int
    /// [out] fp32 in every precision.
    public let bias: [Float]

    /// The fp32 GEMM of this layer (fp32 only; fixed at init).
    public let fp32Gemm: FP32Gemm
    /// The widest int8 layer: vpdpbusd sums u8 x s8 products (at most 255 x 127 each) in int32, so
    /// K up to 2^31 / (255 x 127) = 66,311 cannot overflow.
    public static let int8MaxInFeatures = Int(Int32.max) / (255 * 127)
    private let fp32Weight: [Float]                  // [out, in] (fp32 with sgemm only)
    private let packed: UnsafeMutableRawPointer?     // fp32 / bf16 / int8 panels
    private let packedBytes: Int
    /// int8 only: [out] dequantization scale of each output channel (max |w| / 127).
    public let scales: [Float]
    /// int8 only: [out] sum over k of the quantized weights of each output channel.
    public let columnSums: [Int32]

    /// Packs `weight` [outFeatures, inFeatures] (Hugging Face layout) for `precision`; int8
    /// quantizes symmetrically per output channel.
    /// `fp32Gemm` chooses the fp32 kernel (default: the process's choice, `FP32Gemm.process`).
    public init(weight: [Float], bias: [Float], outFeatures: Int, inFeatures: Int, precision: Precision,
                fp32Gemm: FP32Gemm = FP32Gemm.process) {
        precondition(precision != .int8 || inFeatures <= PackedLinear.int8MaxInFeatures,
                     "PackedLinear: \(inFeatures) inputs overflow int8's int32 sums (at most \(PackedLinear.int8MaxInFeatures))")
        precondition(weight.count == outFeatures * inFeatures && bias.count == outFeatures,
                     "PackedLinear: \(weight.count) weights and \(bias.count) biases for [\(outFeatures), \(inFeatures)]")
        self.precision = precision; self.outFeatures = outFeatures; self.inFeatures = inFeatures; self.bias = bias
        self.fp32Gemm = fp32Gemm
        switch precision {
        case .fp32 where fp32Gemm == .sgemm:
            fp32Weight = weight; packed = nil; packedBytes = 0; scales = []; columnSums = []
        case .fp32:
            fp32Weight = []; scales = []; columnSums = []
            packedBytes = sk_f32_packed_bytes(outFeatures, inFeatures)
            packed = UnsafeMutableRawPointer.allocate(byteCount: packedBytes, alignment: 64)
            sk_f32_pack_weights(weight, outFeatures, inFeatures, packed!.assumingMemoryBound(to: Float.self))
        case .bf16:
            fp32Weight = []; scales = []; columnSums = []
            packedBytes = sk_bf16_packed_bytes(outFeatures, inFeatures)
            packed = UnsafeMutableRawPointer.allocate(byteCount: packedBytes, alignment: 64)
            sk_bf16_pack_weights(weight, outFeatures, inFeatures, packed!.assumingMemoryBound(to: UInt16.self))
        case .int8:
            fp32Weight = []
            packedBytes = sk_int8_packed_bytes(outFeatures, inFeatures)
            let p = UnsafeMutableRawPointer.allocate(byteCount: packedBytes, alignment: 64)
            var s = [Float](repeating: 0, count: outFeatures), c = [Int32](repeating: 0, count: outFeatures)
            sk_int8_pack_weights(weight, outFeatures, inFeatures, p.assumingMemoryBound(to: Int8.self), &s, &c, nil)
            packed = p; scales = s; columnSums = c
        }
    }

    deinit { packed?.deallocate() }

    /// Bytes held for the weights (packed, with padding; scales and sums included; bias excluded).
    public var weightBytes: Int { packed == nil ? fp32Weight.count * 4 : packedBytes + scales.count * 8 }

    /// out[rows, outFeatures] = x[rows, inFeatures] · W^T (+ bias when `addBias`), rows contiguous,
    /// then `gelu` applied to each output in the kernel's epilogue when asked (the same bits as
    /// `geluInPlace` on the result; sgemm fp32 runs that pass after the GEMM).
    /// bf16 / int8 spread the rows over `workers` threads; packed fp32 spreads the rows too, or for
    /// few rows (under 48 per worker) the output columns (32 at a time: the same bits either way);
    /// sgemm fp32 uses OpenBLAS's own threads (its process-global count, see `Parallelism`).
    public func apply(_ x: UnsafePointer<Float>, rows: Int, out: UnsafeMutablePointer<Float>,
                      addBias: Bool = true, gelu: Bool = false, workers: Int = Parallelism.process.threads) {
        if rows == 0 { return }
        let n = outFeatures, k = inFeatures
        let epilogue = gelu ? SK_EPILOGUE_GELU : SK_EPILOGUE_NONE
        switch precision {
        case .fp32 where fp32Gemm == .packed:
            let w = UnsafePointer(packed!.assumingMemoryBound(to: Float.self))
            bias.withUnsafeBufferPointer { bp in
                let b = addBias ? bp.baseAddress : nil
                if rows >= 48 * workers {
                    parallelRanges(rows, minPerWorker: 48, workers: workers) { r in
                        sk_f32_linear(x + r.lowerBound * k, r.count, k, k, w, b, n, out + r.lowerBound * n, n, epilogue)
                    }
                } else {
                    // Column blocks of 32 (two panels [K][16]: block c starts at w + 32 c K).
                    parallelRanges((n + 31) / 32, workers: workers) { r in
                        let c0 = r.lowerBound * 32, c1 = Swift.min(n, r.upperBound * 32)
                        sk_f32_linear(x, rows, k, k, w + c0 * k, b.map { $0 + c0 }, c1 - c0, out + c0, n, epilogue)
                    }
                }
            }
        case .fp32:
            fp32Weight.withUnsafeBufferPointer { wp in bias.withUnsafeBufferPointer { bp in
                linearForward(out: out, x: x, weight: wp.baseAddress!, bias: addBias ? bp.baseAddress! : nil,
                              n: rows, inFeatures: k, outFeatures: n, workers: workers)
            } }
            if gelu {
                parallelRanges(rows, minPerWorker: 16, workers: workers) { r in
                    geluInPlace(out + r.lowerBound * n, count: r.count * n)
                }
            }
        case .bf16, .int8:
            bias.withUnsafeBufferPointer { bp in
                let b = addBias ? bp.baseAddress : nil
                // Chunks of at least 32 rows keep each thread's micro-tiles full.
                parallelRanges(rows, minPerWorker: 32, workers: workers) { r in
                    applyRows(x + r.lowerBound * k, rows: r.count, bias: b, epilogue: epilogue, out: out + r.lowerBound * n)
                }
            }
        }
    }

    /// One thread's share: the reduced-precision kernel on `rows` rows (it quantizes / converts them
    /// 64 at a time into the thread's own scratch buffer, kept between calls: no per-call mapping).
    private func applyRows(_ x: UnsafePointer<Float>, rows: Int, bias: UnsafePointer<Float>?, epilogue: Int32,
                           out: UnsafeMutablePointer<Float>) {
        let n = outFeatures, k = inFeatures
        let status: Int32
        if precision == .int8 {
            status = scales.withUnsafeBufferPointer { sp in columnSums.withUnsafeBufferPointer { cp in
                sk_int8_linear(x, rows, k, k, packed!.assumingMemoryBound(to: Int8.self), sp.baseAddress!,
                               cp.baseAddress!, bias, n, out, n, epilogue)
            } }
        } else {
            status = sk_bf16_linear(x, rows, k, k, packed!.assumingMemoryBound(to: UInt16.self), bias, n, out, n, epilogue)
        }
        if status != 0 {
            let bytes = precision == .int8 ? sk_int8_scratch_bytes(rows, k) : sk_bf16_scratch_bytes(rows, k)
            fatalError("out of memory for \(bytes) bytes of \(precision) scratch")
        }
    }
}

/// Hands freed heap memory back to the system (glibc `malloc_trim`), e.g. after a checkpoint's fp32
/// tensors were converted and dropped, so resident memory reflects what is still held.
public func releaseFreedMemory() { sk_release_free_memory() }

/// A block of `bytes` bytes, 64-byte aligned, contents undefined (nil when out of memory). Blocks of
/// 256 KiB and more are mapped directly, so that `freeScratchBlock` returns them to the system.
public func allocateScratchBlock(bytes: Int) -> UnsafeMutableRawPointer? { sk_scratch_alloc(bytes) }

/// Frees a block from `allocateScratchBlock` (with the same size).
public func freeScratchBlock(_ block: UnsafeMutableRawPointer, bytes: Int) { sk_scratch_free(block, bytes) }
