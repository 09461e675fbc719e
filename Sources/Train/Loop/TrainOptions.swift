// Settings of a training run and the resumable counters saved with each checkpoint.

/// What the model is trained to minimise.
public enum TrainObjective: String, Codable, Sendable, CaseIterable {
    /// MultipleNegativesRankingLoss (DE): in-batch + hard negatives, cosine x scale.
    case mnrl
    /// MarginMSE against teacher "scores" (DE: scale x cosine scores; CE: logits).
    case marginMSE = "margin-mse"
    /// KL distillation against teacher "scores" (softmax over each query's candidates, temperature).
    case kl
    /// Binary cross-entropy with logits (CE): positive label 1, negatives 0.
    case bce
}

/// Hyper-parameters of a run (saved in the checkpoint so a resume continues the same run).
public struct TrainOptions: Codable, Sendable, Equatable {
    public var epochs = 1
    /// Examples per micro-batch (for MNRL, the in-batch negatives count is batchSize - 1).
    public var batchSize = 16
    /// Micro-batches whose gradients are summed (and averaged) per optimizer step.
    public var accumulation = 1
    /// Stop after this many optimizer steps (nil: epochs decide).
    public var maxSteps: Int? = nil
    public var lr: Float = 2e-5
    public var weightDecay: Float = 0.01
    /// Fraction of the total steps spent warming the learning rate up from 0.
    public var warmupRatio: Float = 0.1
    public var maxGradNorm: Float = 1
    public var seed: UInt64 = 42
    public var objective: TrainObjective = .mnrl
    /// MNRL: also rank anchors for each positive (MultipleNegativesSymmetricRankingLoss).
    public var symmetric = false
    /// Similarity scale (MNRL: 20 as sentence-transformers; DE distillation scores are scale x cosine).
    public var scale: Float = 20
    /// Hard negatives used per example (capped by the fewest any example of the batch has).
    public var maxNegatives = 1
    public var temperature: Float = 1
    public var hiddenDropout: Float = 0.1
    public var attentionDropout: Float = 0.1

    public init() {}

    /// Optimizer steps of a run over `examples` examples.
    public func totalSteps(examples: Int) -> Int {
        let perEpoch = max(1, examples / max(1, batchSize * accumulation))
        let byEpochs = perEpoch * max(1, epochs)
        return maxSteps.map { min($0, byEpochs) } ?? byEpochs
    }
}

/// Counters that, with the parameters and AdamW moments, let a killed run resume exactly.
public struct TrainerState: Codable, Sendable, Equatable {
    /// Optimizer steps completed.
    public var step = 0
    public var totalSteps = 0
    public var examplesSeen = 0
    /// Dropout RNG state after `step` steps.
    public var rngState: UInt64 = 0
    public var options = TrainOptions()
    /// Loss of each completed step (mean over its micro-batches).
    public var losses: [Double] = []
    public init() {}
}
