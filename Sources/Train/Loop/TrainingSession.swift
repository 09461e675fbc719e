// A whole training run to disk: resume from OUT/checkpoint when present, progress lines, periodic checkpoints,
// the final model in OUT. Shared by `strata infuse` and `strata train-ce`.

import Foundation
import Model

/// Where and how a run writes its results.
public struct SessionSettings {
    public var out: URL
    public var kind: SavedModelKind
    /// Tokenizer files are copied from here into every saved model.
    public var tokenizerDir: URL
    /// Optimizer steps between checkpoints (0: only at the end).
    public var checkpointEvery: Int
    /// BertWeights that supply the config and value types for saving (the source model or the checkpoint).
    public var template: BertWeights
    /// Saved with a DE (unused by it) so transformers finds the pooler tensors; nil to leave them out.
    public var extraPooler: Linear?
    public init(out: URL, kind: SavedModelKind, tokenizerDir: URL, checkpointEvery: Int, template: BertWeights, extraPooler: Linear?) {
        self.out = out; self.kind = kind; self.tokenizerDir = tokenizerDir; self.checkpointEvery = checkpointEvery
        self.template = template; self.extraPooler = extraPooler
    }
}

/// A model and trainer restored from OUT/checkpoint, or nil when there is none.
public func resumeFromCheckpoint(out: URL, examples: [TrainingExample], tokenizer: TextTokenizer, options: TrainOptions,
                                 classifier: Bool) throws -> (model: TrainableBert, trainer: Trainer, weights: BertWeights, dir: URL)? {
    guard let dir = latestCheckpoint(in: out) else { return nil }
    let w: BertWeights
    do { w = try BertWeights.load(directory: dir) } catch {
        throw TrainError.checkpoint("\(dir.path): cannot load the checkpoint's model (\(error)); delete it to start over")
    }
    let model = TrainableBert(shape: BertShape(config: w.config, classifier: classifier))
    try model.copy(from: w, embeddings: true, layers: 0..<w.layers.count, head: classifier)
    let st = try loadTrainingState(from: dir)
    let trainer = try Trainer(model: model, examples: examples, tokenizer: tokenizer, options: options, resume: st)
    return (model, trainer, w, dir)
}

/// Runs `trainer` to the end: a progress line on `log` every `logEvery` steps (and the last), checkpoints, and the
/// final model written to settings.out. `afterCheckpoint` runs after each periodic checkpoint (e.g. a dev evaluation).
public func runSession(_ trainer: Trainer, settings: SessionSettings, logEvery: Int = 10, log: (String) -> Void,
                       afterCheckpoint: ((URL) throws -> Void)? = nil) throws {
    let fm = FileManager.default
    try fm.createDirectory(at: settings.out, withIntermediateDirectories: true)
    let model = trainer.model
    let weights = { model.bertWeights(template: settings.template, pooler: settings.extraPooler) }
    var recent: [Double] = []
    try trainer.run(checkpointEvery: settings.checkpointEvery, progress: { r in
        recent.append(r.loss)
        if recent.count > logEvery { recent.removeFirst() }
        if r.step % max(1, logEvery) == 0 || r.step == r.totalSteps || r.step == 1 {
            let avg = recent.reduce(0, +) / Double(recent.count)
            log(String(format: "step %d/%d  loss %.4f (avg %.4f)  lr %.2e  |g| %.2f  %.1f ex/s  ETA ",
                       r.step, r.totalSteps, r.loss, avg, Double(r.lr), Double(r.gradNorm), r.examplesPerSecond)
                + formatDuration(r.etaSeconds))
        }
    }, checkpoint: { t in
        try saveCheckpoint(t, weights: weights(), kind: settings.kind, tokenizerDir: settings.tokenizerDir, out: settings.out)
        log("checkpoint at step \(t.state.step): \(settings.out.appendingPathComponent("checkpoint").path)")
        if !t.isFinished { try afterCheckpoint?(settings.out.appendingPathComponent("checkpoint")) }
    })
    try writeModelDirectory(weights(), kind: settings.kind, tokenizerDir: settings.tokenizerDir, to: settings.out)
    log("saved \(settings.out.path) after \(trainer.state.step) steps")
}

/// "1h02m", "3m05s", "42s".
public func formatDuration(_ s: Double) -> String {
    guard s.isFinite else { return "?" }
    let t = Int(s.rounded())
    if t >= 3600 { return String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) }
    if t >= 60 { return String(format: "%dm%02ds", t / 60, t % 60) }
    return "\(t)s"
}
