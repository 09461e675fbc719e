import Foundation
import Kernels

/// The inference forward pass of a BERT encoder on flat buffers. Dense layers run through
/// `PackedLinear` in the engine's precision (OpenBLAS sgemm in fp32; the int8 / bf16 GEMMs of
/// CStrataKernels otherwise); attention's matmuls run through OpenBLAS sgemm in every precision.
///
/// Layer 0 is the embedding output; layer n (1...N) is the output of encoder.layer.(n-1).
/// Batches are packed (`PackedBatch`, the batch training uses): no padding anywhere, and attention of
/// sequence b is computed over its own `lengths[b]` tokens only (Kernels' `attentionForward`, shared
/// with training), so a text's hidden states do not depend on the other texts in the batch.
public final class BertEngine: @unchecked Sendable {
    public let config: BertConfig
    /// Precision of the encoder layers' dense weights and GEMMs (attention, LayerNorm, GELU, the
    /// embeddings and the CE head stay fp32).
    public let precision: Precision
    let embeddings: BertEmbeddings
    /// Per-layer parameter views: fp32, borrowed views into `layerBlocks` (Model's `EncoderLayerLayout`,
    /// the layout training uses: the fused QKV projection is the adjacent query, key and value rows);
    /// bf16 / int8, `PackedLinear` copies.
    public let layers: [EncoderLayerWeights]
    /// fp32 only: every layer's block, back to back, owned here.
    private let layerBlocks: UnsafeMutablePointer<Float>?
    /// Cross-encoder head (fp32 in every precision: two small matmuls on the [CLS] rows); nil for a
    /// dual encoder.
    let head: ClassifierHeadWeights?

    /// Threads of a forward pass; nil: the process setting (`Parallelism.process`, strata's `--threads`)
    /// at each call. With `STRATA_FP32_GEMM=sgemm` the fp32 GEMMs of a single group run on OpenBLAS's
    /// process-wide count; the packed kernels spread rows over these threads.
    public var parallelism: Parallelism?
    /// Most tokens one pass of the layers takes: each thread's sequences go through the layers in
    /// passes of at most this many tokens (at least one sequence each), so that a pass's activations
    /// (qkv [T, 3H], the intermediate [T, I], ...) stay in cache between the steps of a layer (at
    /// 32 x 128 tokens they were 50 MB, past the 32 MB L3). The packed kernels compute each row (and
    /// attention each sequence) alone, so the passes change no result; OpenBLAS sgemm
    /// (`STRATA_FP32_GEMM=sgemm`) may round a row differently with another row count.
    public var passTokens = BertEngine.defaultPassTokens

    private static let forwardLock = NSLock()

    /// Prepares the weights for inference in `precision`: fp32 copies every layer into one block in the
    /// shared layer layout; bf16 / int8 pack (bf16) or quantize per output channel (int8) each dense
    /// layer, the query, key and value rows stacked into one [3H, H] projection. In bf16 and int8
    /// the engine keeps none of the fp32 dense tensors: they are freed with `weights`.
    /// `fp32Gemm` chooses the fp32 kernel: the packed fp32 GEMM (default, `FP32Gemm.process`; weights
    /// packed once here) or sgemm on borrowed views of one block per layer in training's layout (which
    /// is what training runs, so with `.sgemm` inference and training compute the same floats).
    public init(weights: BertWeights, precision: Precision = .fp32, fp32Gemm: FP32Gemm = FP32Gemm.process) {
        config = weights.config
        self.precision = precision
        embeddings = weights.embeddings
        if precision == .fp32 && fp32Gemm == .sgemm {
            // one fp32 block per layer in Model's layer layout (training's), read through borrowed views
            let block = EncoderLayerLayout(hidden: weights.config.hiddenSize, intermediate: weights.config.intermediateSize)
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: max(1, block.count * weights.layers.count))
            layers = weights.layers.enumerated().map { l, layer in
                let at = block.shifted(by: l * block.count)
                at.write(layer, into: buffer)
                precondition(layer.attentionLayerNorm.eps == layer.outputLayerNorm.eps, "layer \(l): two LayerNorm eps")
                return at.weights(in: buffer, eps: layer.attentionLayerNorm.eps)
            }
            layerBlocks = buffer
        } else {
            layers = weights.layers.map { EncoderLayerWeights($0, precision: precision, fp32Gemm: fp32Gemm) }
            layerBlocks = nil
        }
        if let pooler = weights.pooler, let classifier = weights.classifier {
            head = ClassifierHeadWeights(pooler: .packed(PackedLinear(pooler, precision: .fp32, fp32Gemm: fp32Gemm)),
                                         classifier: .packed(PackedLinear(classifier, precision: .fp32, fp32Gemm: fp32Gemm)))
        } else {
            head = nil
        }
    }

    deinit { layerBlocks?.deallocate() }

    /// Number of classifier outputs, or nil for a model without a classifier head (a dual encoder).
    public var classifierOutputs: Int? { head?.labels }

    /// Bytes held for the encoder layers' dense weights in this precision (embeddings, LayerNorm,
    /// biases and the head excluded).
    public var denseWeightBytes: Int { layers.reduce(0) { $0 + $1.weightBytes } }

    /// Runs the encoder up to the deepest layer in `layers` and hands each requested layer's
    /// hidden states to `visit` (the per-layer hook; valid only during the call): packed [N, H]
    /// row-major, sequence b at rows `batch.offsets[b] ..< batch.offsets[b] + batch.lengths[b]`.
    /// Every dense layer runs over the N real tokens only: there is no padding.
    ///
    /// Forward passes are serialised process-wide: each one already uses all its threads, they share
    /// the kept buffers (`ForwardScratch`), and a split forward sets OpenBLAS's (global) thread count
    /// to one while it runs (what the sgemm fp32 path reads; see `Parallelism`).
    ///
    /// With several threads and enough sequences, the batch is split into one group per thread, each
    /// run by its own thread with single-threaded BLAS (data parallelism scales better than
    /// threading each small matmul); the groups' rows are contiguous in [N, H], so they are copied back.
    public func forward(_ batch: PackedBatch, layers: Set<Int>,
                        visit: (_ layer: Int, _ hidden: UnsafePointer<Float>) throws -> Void) rethrows {
        precondition(batch.maxLength <= config.maxPositionEmbeddings,
                     "sequence of \(batch.maxLength) tokens exceeds max_position_embeddings \(config.maxPositionEmbeddings)")
        precondition((layers.max() ?? 0) <= config.numHiddenLayers)
        BertEngine.forwardLock.lock()
        defer { BertEngine.forwardLock.unlock() }
        let scratch = ForwardScratch.shared
        scratch.beginForward()
        defer { scratch.endForward() }
        let workers = (parallelism ?? .process).threads
        let groups = workers > 1 && batch.count >= 2 * workers ? BertEngine.split(batch, into: workers) : [0..<batch.count]
        let groupWorkers = groups.count > 1 ? 1 : workers
        let passes = groups.map { BertEngine.passes(batch, $0, maxTokens: passTokens) }
        if groups.count == 1 && passes[0].count == 1 {
            return try forwardGroup(batch, group: 0, layers: layers, workers: workers, visit: visit)
        }
        let h = config.hiddenSize, n = batch.tokenCount
        let wanted = layers.sorted()
        let slot = Dictionary(uniqueKeysWithValues: wanted.enumerated().map { ($1, $0) })
        // per requested layer [N, H]
        let outputs = wanted.indices.map { scratch.floats(slot: BertEngine.outputSlot + $0, count: n * h) }
        func run(_ g: Int) {
            for range in passes[g] {
                let sub = batch.slice(range)
                let first = batch.offsets[range.lowerBound]
                forwardGroup(sub, group: g, layers: layers, workers: groupWorkers) { layer, hidden in
                    (outputs[slot[layer]!] + first * h).update(from: hidden, count: sub.tokenCount * h)
                }
            }
        }
        if groups.count > 1 {
            BLASThreads.singleThreaded { DispatchQueue.concurrentPerform(iterations: groups.count, execute: run) }
        } else {
            run(0)
        }
        for layer in wanted { try visit(layer, outputs[slot[layer]!]) }
    }

    /// The default of `passTokens`: 512, or `STRATA_PASS_TOKENS` (0: one pass per group), for
    /// measurement. Measured on this repository's 2-core AMD EPYC (32 x 128 tokens, `bench encoder`):
    /// int8 50-55k tokens/s at 256-512 against 45.5k in one pass, bf16 +2-8% at 512, fp32 unchanged.
    public static let defaultPassTokens: Int = {
        if let v = ProcessInfo.processInfo.environment["STRATA_PASS_TOKENS"], let n = Int(v), n >= 0 { return n == 0 ? Int.max : n }
        return 512
    }()

    /// The sequences of `range` in consecutive passes of at most `maxTokens` tokens (a longer sequence
    /// alone).
    public static func passes(_ batch: PackedBatch, _ range: Range<Int>, maxTokens: Int) -> [Range<Int>] {
        var out: [Range<Int>] = [], start = range.lowerBound, tokens = 0
        for b in range {
            let len = batch.lengths[b]
            if b > start && tokens + len > maxTokens { out.append(start..<b); start = b; tokens = 0 }
            tokens += len
        }
        if start < range.upperBound || out.isEmpty { out.append(start..<range.upperBound) }
        return out
    }

    /// Contiguous groups of sequences with about equal token counts.
    static func split(_ batch: PackedBatch, into n: Int) -> [Range<Int>] {
        let total = batch.tokenCount
        var bounds = [0]
        var acc = 0
        for (b, len) in batch.lengths.enumerated() where bounds.count < n {
            acc += len
            if acc * n >= total * bounds.count && b + 1 < batch.count { bounds.append(b + 1) }
        }
        bounds.append(batch.count)
        return zip(bounds, bounds.dropFirst()).filter { $0 < $1 }.map { $0..<$1 }
    }

    /// `ForwardScratch` slots: group g's buffer r at `g * groupSlots + r`; the per-layer outputs of a
    /// split forward from `outputSlot` on.
    private static let groupSlots = 8, outputSlot = 1 << 20

    /// The forward pass of one group (`group`: its index, which picks its scratch buffers); `workers`
    /// threads for its row-wise kernels and attention.
    private func forwardGroup(_ batch: PackedBatch, group: Int, layers: Set<Int>, workers: Int,
                              visit: (_ layer: Int, _ hidden: UnsafePointer<Float>) throws -> Void) rethrows {
        let cfg = config
        let h = cfg.hiddenSize, inter = cfg.intermediateSize
        let t = batch.tokenCount
        let deepest = layers.max() ?? 0
        // Scratch kept between forwards (ForwardScratch), fully overwritten before every read. x stays in
        // place: each layer reads it as input and writes its output there (r2 = out = x, r1 = x1 = tmp,
        // act = pre = ff).
        func buffer(_ role: Int, _ count: Int) -> UnsafeMutablePointer<Float> {
            ForwardScratch.shared.floats(slot: group * BertEngine.groupSlots + role, count: count)
        }
        let x = buffer(0, t * h)           // [T, H] hidden states
        embed(batch, into: x)
        if layers.contains(0) { try visit(0, x) }
        if deepest == 0 { return }

        let qkv = buffer(1, t * 3 * h)     // [T, 3H]
        let ctx = buffer(2, t * h)         // [T, H]
        let tmp = buffer(3, t * h)         // [T, H]
        let ff = buffer(4, t * inter)      // [T, I]
        let threads = Parallelism(threads: workers)
        let buffers = EncoderLayerBuffers(qkv: qkv, ctx: ctx, r1: tmp, x1: tmp, pre: ff, act: ff, r2: x, out: x)
        for n in 0..<deepest {
            encoderLayerForward(self.layers[n], input: x, lengths: batch.lengths, heads: cfg.numAttentionHeads,
                                buffers: buffers, parallelism: threads)
            if layers.contains(n + 1) { try visit(n + 1, x) }
        }
    }

    /// x[n, :] = LN(word[id] + position[pos] + type[tt]) over the packed tokens: Model's
    /// `embeddingStageForward`, the stage training runs (ids outside the tables are clamped, see `embeddingRow`).
    private func embed(_ batch: PackedBatch, into x: UnsafeMutablePointer<Float>) {
        embeddings.withStageWeights(hidden: config.hiddenSize) { w in
            embeddingStageForward(w, ids: batch.ids, types: batch.types, positions: batch.positions, out: x)
        }
    }

    /// Cross-encoder head on layer N's [CLS] rows (packed [N, H] hidden states of `batch`):
    /// logits[B, labels] = classifier(tanh(pooler(h[offsets[b], :]))), Model's `classifierHeadForward`
    /// (training's head, without dropout). Empty for a model without a classifier head.
    public func classify(_ hidden: UnsafePointer<Float>, batch: PackedBatch) -> [Float] {
        guard let head else { return [] }
        let bh = batch.count * head.hidden
        var cls = [Float](repeating: 0, count: bh)
        var pooled = [Float](repeating: 0, count: bh)
        var logits = [Float](repeating: 0, count: batch.count * head.labels)
        cls.withUnsafeMutableBufferPointer { cp in pooled.withUnsafeMutableBufferPointer { pp in
        logits.withUnsafeMutableBufferPointer { lp in
            let p = pp.baseAddress!
            classifierHeadForward(head, hidden: hidden, lengths: batch.lengths,
                                  buffers: ClassifierHeadBuffers(cls: cp.baseAddress!, pre: p, pooled: p, dropped: p,
                                                                 logits: lp.baseAddress!),
                                  workers: (parallelism ?? .process).threads)
        } } }
        return logits
    }
}
