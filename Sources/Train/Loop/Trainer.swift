// The training loop: deterministic batches from a seed, DE (MNRL / distillation) and CE (BCE / distillation)
// micro-steps, gradient accumulation, AdamW with warm-up + linear decay, progress and checkpoint hooks.

import Kernels
import Foundation

/// Token ids and token type ids of one encoded text or text pair.
public typealias TokenIDs = (ids: [Int32], types: [Int32])

/// How the trainer turns text into tokens (the CLI wraps the model's tokenizer).
public struct TextTokenizer {
    public var single: (String) -> TokenIDs
    public var pair: (String, String) -> TokenIDs
    public init(single: @escaping (String) -> TokenIDs, pair: @escaping (String, String) -> TokenIDs) {
        self.single = single; self.pair = pair
    }
}

/// What the trainer reports after each optimizer step.
public struct StepReport: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Double
    public var lr: Float
    public var gradNorm: Float
    public var examplesPerSecond: Double
    public var etaSeconds: Double
}

/// Trains a `TrainableBert` as a dual encoder (mean pooling) or, with a classifier head, as a cross encoder.
public final class Trainer {
    public let model: TrainableBert
    public let optimizer: AdamW
    public let examples: [TrainingExample]
    public let tokenizer: TextTokenizer
    public private(set) var state: TrainerState
    var rng: SplitMix64

    /// A fresh run (state.step 0) or, with `resume`, one continuing from a checkpoint whose parameters are
    /// already in `model` and whose trainer state and AdamW moments are in `resume`.
    public init(model: TrainableBert, examples: [TrainingExample], tokenizer: TextTokenizer, options: TrainOptions,
                resume: (state: TrainerState, m: [Float], v: [Float])? = nil) throws {
        guard !examples.isEmpty else { throw TrainError.data("no training examples") }
        if options.objective == .bce && !model.shape.hasClassifier {
            throw TrainError.config("objective bce needs a cross encoder (classifier head)")
        }
        if options.objective == .mnrl && model.shape.hasClassifier {
            throw TrainError.config("objective mnrl trains a dual encoder, but the model has a classifier head")
        }
        if options.objective == .marginMSE || options.objective == .kl {
            if let i = examples.firstIndex(where: { $0.scores == nil || $0.negatives.isEmpty }) {
                throw TrainError.data("example \(i + 1) has no \"scores\" or no negatives, needed by \(options.objective.rawValue)")
            }
        }
        self.model = model
        self.examples = examples
        self.tokenizer = tokenizer
        optimizer = AdamW(layout: model.layout, config: AdamWConfig(lr: options.lr, weightDecay: options.weightDecay,
                                                                     maxGradNorm: options.maxGradNorm))
        model.hiddenDropout = options.hiddenDropout
        model.attentionDropout = options.attentionDropout
        if let resume {
            guard resume.state.options == options else {
                throw TrainError.checkpoint("checkpoint was made with different training options; use the same flags to resume")
            }
            try optimizer.restore(m: resume.m, v: resume.v, step: resume.state.step)
            state = resume.state
            rng = SplitMix64(seed: resume.state.rngState)
        } else {
            state = TrainerState()
            state.options = options
            state.totalSteps = options.totalSteps(examples: examples.count)
            rng = SplitMix64(seed: options.seed &* 0x9E37_79B9 &+ 1)
            state.rngState = rng.state
        }
    }

    public var options: TrainOptions { state.options }
    public var isFinished: Bool { state.step >= state.totalSteps }

    /// Indices of the examples of global micro-batch `g` (epoch-wise shuffles from the seed; the last partial
    /// batch of an epoch is dropped).
    func microBatch(_ g: Int) -> [Int] {
        let b = options.batchSize, perEpoch = max(1, examples.count / b)
        let epoch = g / perEpoch, pos = g % perEpoch
        var r = SplitMix64(seed: options.seed ^ (UInt64(epoch) &* 0xD1B5_4A32_D192_ED03))
        var perm = Array(0..<examples.count)
        for i in stride(from: perm.count - 1, to: 0, by: -1) { perm.swapAt(i, Int(r.next() % UInt64(i + 1))) }
        let end = min(perm.count, (pos + 1) * b)
        return Array(perm[(pos * b)..<end])
    }

    /// Runs optimizer steps until the end (or until `shouldStop` says so after a step), calling `progress` after
    /// every step and `checkpoint` every `checkpointEvery` steps and at the end.
    public func run(checkpointEvery: Int = 0, shouldStop: () -> Bool = { false },
                    progress: (StepReport) -> Void = { _ in }, checkpoint: (Trainer) throws -> Void = { _ in }) throws {
        let start = Date()
        let startStep = state.step
        while !isFinished {
            let (loss, norm, lr) = try step()
            let elapsed = Date().timeIntervalSince(start)
            let done = state.step - startStep
            let perStep = elapsed / Double(max(1, done))
            progress(StepReport(step: state.step, totalSteps: state.totalSteps, loss: loss, lr: lr, gradNorm: norm,
                                examplesPerSecond: Double(done * options.batchSize * options.accumulation) / max(elapsed, 1e-9),
                                etaSeconds: perStep * Double(state.totalSteps - state.step)))
            if checkpointEvery > 0 && state.step % checkpointEvery == 0 && !isFinished { try checkpoint(self) }
            if shouldStop() { break }
        }
        try checkpoint(self)
    }

    /// One optimizer step over `accumulation` micro-batches. Returns (mean loss, grad norm, learning rate).
    @discardableResult
    public func step() throws -> (loss: Double, gradNorm: Float, lr: Float) {
        model.zeroGradients()
        let acc = options.accumulation
        var loss = 0.0
        for a in 0..<acc {
            let idx = microBatch(state.step * acc + a)
            let batch = idx.map { examples[$0] }
            loss += model.shape.hasClassifier ? crossEncoderMicroStep(batch, gradScale: 1 / Float(acc))
                                              : dualEncoderMicroStep(batch, gradScale: 1 / Float(acc))
            state.examplesSeen += batch.count
        }
        let warm = Int((Float(state.totalSteps) * options.warmupRatio).rounded())
        let sched = linearWarmupDecay(step: state.step, warmupSteps: warm, totalSteps: state.totalSteps)
        let norm = optimizer.update(params: model.params, grads: model.grads, lrScale: sched)
        state.step += 1
        state.rngState = rng.state
        state.losses.append(loss / Double(acc))
        return (loss / Double(acc), norm, options.lr * sched)
    }

    /// Hard negatives per example this batch uses.
    func negativesPerExample(_ batch: [TrainingExample]) -> Int {
        let fewest = batch.map(\.negatives.count).min() ?? 0
        let k = min(options.maxNegatives, fewest)
        return options.objective == .mnrl || options.objective == .bce ? k : max(1, k)
    }
}
