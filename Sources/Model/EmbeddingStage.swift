import Kernels

// The one embedding-stage forward of Strata: inference (`BertEngine`) and training (`TrainableBert`)
// both run `embeddingStageForward`. Packed batch of N tokens (no padding), hidden H:
//   sum[N, H] = wte[ids] + wpe[positions] + wtt[types]    (Kernels' embeddingsForward; ids clamped)
//   out[N, H] = LN(sum) [* mask]                            (Kernels' layerNormRow, row by row)
// Training passes a cache (the pre-LN sum and each row's mean and rstd, which backward reads) and a
// dropout mask; inference passes neither and the sum is formed in `out` itself.

/// The embedding stage's parameters as its forward reads them: fp32, borrowed (they must outlive
/// every use of this value).
public struct EmbeddingStageWeights {
    /// word [vocab, H], position [positions, H], token type [typeVocab, H] tables.
    public let word: UnsafePointer<Float>, position: UnsafePointer<Float>, tokenType: UnsafePointer<Float>
    public let vocab: Int, positions: Int, typeVocab: Int, hidden: Int
    /// LayerNorm gamma [H], beta [H].
    public let gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>
    public let eps: Float

    public init(word: UnsafePointer<Float>, vocab: Int, position: UnsafePointer<Float>, positions: Int,
                tokenType: UnsafePointer<Float>, typeVocab: Int, hidden: Int,
                gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>, eps: Float) {
        precondition(vocab > 0 && positions > 0 && typeVocab > 0 && hidden > 0, "embedding stage: empty table")
        self.word = word; self.vocab = vocab; self.position = position; self.positions = positions
        self.tokenType = tokenType; self.typeVocab = typeVocab; self.hidden = hidden
        self.gamma = gamma; self.beta = beta; self.eps = eps
    }
}

/// The one packed layout of the embedding stage's tensors in a flat fp32 buffer, in storage order:
/// word [vocab, H], position [positions, H] and token-type [typeVocab, H] tables, then the LayerNorm's
/// gamma [H] and beta [H]. Training's `ParameterLayout` places them so (at the start of its buffer)
/// and reads them through `weights(in:eps:)`, over its parameters and, with the same offsets, its
/// gradients. Offsets count floats from the buffer start (`shifted(by:)` moves the block).
public struct EmbeddingStageLayout: Sendable, Equatable {
    public let vocab: Int, positions: Int, typeVocab: Int, hidden: Int
    /// The three tables: [vocab, H], [positions, H], [typeVocab, H].
    public private(set) var word = 0, position = 0, tokenType = 0
    /// LayerNorm gamma [H] and beta [H].
    public private(set) var gamma = 0, beta = 0
    /// Floats in the block.
    public let count: Int

    /// A block starting at offset 0. Every size must be positive.
    public init(vocab: Int, positions: Int, typeVocab: Int, hidden: Int) {
        precondition(vocab > 0 && positions > 0 && typeVocab > 0 && hidden > 0,
                     "embedding stage: every size must be positive (vocab \(vocab), positions \(positions), "
                     + "token types \(typeVocab), hidden \(hidden))")
        self.vocab = vocab; self.positions = positions; self.typeVocab = typeVocab; self.hidden = hidden
        let order = Self.storageOrder(vocab: vocab, positions: positions, typeVocab: typeVocab, hidden: hidden)
        count = order.reduce(0) { $0 + $1.shape.reduce(1, *) }
        var at = 0
        for t in order {
            self[keyPath: t.field] = at
            at += t.shape.reduce(1, *)
        }
    }

    /// The same block `base` floats further into a buffer.
    public func shifted(by base: Int) -> EmbeddingStageLayout {
        var s = self
        for t in Self.storageOrder(vocab: vocab, positions: positions, typeVocab: typeVocab, hidden: hidden) {
            s[keyPath: t.field] += base
        }
        return s
    }

    /// The tensors in storage order: Hugging Face name (`BertTensorNames`), shape and role.
    public var tensors: [(name: String, shape: [Int], role: TensorRole)] {
        Self.storageOrder(vocab: vocab, positions: positions, typeVocab: typeVocab, hidden: hidden).map { ($0.name, $0.shape, $0.role) }
    }

    private static func storageOrder(vocab: Int, positions: Int, typeVocab: Int, hidden h: Int)
        -> [(field: WritableKeyPath<EmbeddingStageLayout, Int>, name: String, shape: [Int], role: TensorRole)] {
        let N = BertTensorNames.self
        return [(\.word, N.wordEmbeddings, [vocab, h], .weight),
                (\.position, N.positionEmbeddings, [positions, h], .weight),
                (\.tokenType, N.tokenTypeEmbeddings, [typeVocab, h], .weight),
                (\.gamma, N.embeddingsLayerNorm + ".weight", [h], .normGamma),
                (\.beta, N.embeddingsLayerNorm + ".bias", [h], .normBeta)]
    }

    /// The stage in `params` as its forward reads it: borrowed fp32 views, no copy. `params` must
    /// outlive the result.
    public func weights(in params: UnsafePointer<Float>, eps: Float) -> EmbeddingStageWeights {
        EmbeddingStageWeights(word: params + word, vocab: vocab, position: params + position, positions: positions,
                              tokenType: params + tokenType, typeVocab: typeVocab, hidden: hidden,
                              gamma: params + gamma, beta: params + beta, eps: eps)
    }
}

extension BertEmbeddings {
    /// Runs `body` with borrowed views of these tables (valid only during the call); table heights
    /// come from their sizes over `hidden`.
    public func withStageWeights<R>(hidden: Int, _ body: (EmbeddingStageWeights) throws -> R) rethrows -> R {
        precondition(layerNorm.gamma.count == hidden && layerNorm.beta.count == hidden, "embedding LayerNorm is not [\(hidden)]")
        for (name, table) in [("word", wordEmbeddings), ("position", positionEmbeddings), ("token type", tokenTypeEmbeddings)] {
            precondition(!table.isEmpty && table.count % hidden == 0,
                         "embedding stage: the \(name) table has \(table.count) values, not rows of \(hidden)")
        }
        return try wordEmbeddings.withUnsafeBufferPointer { w in
            try positionEmbeddings.withUnsafeBufferPointer { p in
            try tokenTypeEmbeddings.withUnsafeBufferPointer { t in
            try layerNorm.gamma.withUnsafeBufferPointer { g in
            try layerNorm.beta.withUnsafeBufferPointer { b in
                try body(EmbeddingStageWeights(word: w.baseAddress!, vocab: w.count / hidden,
                                               position: p.baseAddress!, positions: p.count / hidden,
                                               tokenType: t.baseAddress!, typeVocab: t.count / hidden, hidden: hidden,
                                               gamma: g.baseAddress!, beta: b.baseAddress!, eps: layerNorm.eps))
            } } } } }
    }
}

/// What training keeps of the embedding stage for its backward (N tokens).
public struct EmbeddingStageCache {
    /// [N, H] the LayerNorm's input (the summed embeddings)
    public var sum: UnsafeMutablePointer<Float>
    /// [N] each row's mean and rstd
    public var mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>

    public init(sum: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        self.sum = sum; self.mean = mean; self.rstd = rstd
    }
}

/// The embedding stage over a packed batch: out [N, H] = LN(word[id] + position[pos] + type[tt])
/// [* dropout], the sequence in this file's header. With `cache`, the sum is written to `cache.sum`
/// and the LayerNorm's mean / rstd to `cache.mean` / `cache.rstd`; without, the sum is formed in `out`.
/// `dropout` [N, H] is an inverted-dropout mask (0 or 1/(1-p)) applied after the LayerNorm.
/// Positions must be below `w.positions`; ids and types outside their tables are clamped (`embeddingRow`).
public func embeddingStageForward(_ w: EmbeddingStageWeights, ids: [Int32], types: [Int32], positions: [Int32],
                                  out: UnsafeMutablePointer<Float>, cache: EmbeddingStageCache? = nil,
                                  dropout: UnsafePointer<Float>? = nil) {
    let n = ids.count, h = w.hidden
    precondition(types.count == n && positions.count == n, "embedding stage: ids, types and positions differ in length")
    precondition(positions.allSatisfy { $0 >= 0 && Int($0) < w.positions },
                 "embedding stage: a position outside 0..<\(w.positions) (max_position_embeddings)")
    let sum = cache?.sum ?? out
    embeddingsForward(out: sum, ids: ids, types: types, positions: positions, wte: w.word, vocab: w.vocab,
                      wpe: w.position, wtt: w.tokenType, typeVocab: w.typeVocab, hidden: h)
    for r in 0..<n {
        let (m, s) = layerNormRow(UnsafePointer(sum + r * h), out: out + r * h, cols: h, gamma: w.gamma, beta: w.beta, eps: w.eps)
        if let cache { cache.mean[r] = m; cache.rstd[r] = s }
    }
    if let dropout { for i in 0..<(n * h) { out[i] *= dropout[i] } }
}
