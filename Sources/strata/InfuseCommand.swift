import Foundation
import Eval
import Model
import Tokenizer
import Train
import CommandLineFlags

/// `strata infuse`: knowledge infusion, the paper's DE-k CE (and its DE-k DE / DE-k random baselines).
enum InfuseCommand: Subcommand {
    /// The flags of every training command (`infuse`, `train-ce`) but --train and --out, whose help differs.
    static func trainingFlags(defaultLoss: TrainObjective, lossHelp: String) -> [Flag] { [
        .int("epochs", default: 1, min: 1, max: 10_000, help: "passes over the training examples"),
        .int("batch", default: 16, min: 2, max: 4096, help: "examples per micro-batch"),
        .int("accumulation", default: 1, min: 1, max: 1024, help: "micro-batches whose gradients are summed into one optimizer step"),
        .int("max-steps", defaultNote: "the epochs decide", min: 1, help: "stop after N optimizer steps"),
        .double("lr", default: 2e-5, .above(0), help: "peak learning rate (AdamW)"),
        .double("weight-decay", default: 0.01, help: "AdamW weight decay"),
        .double("warmup", default: 0.1, .closed(0, 1), help: "fraction of the steps that warm the learning rate up from 0"),
        .int("seed", default: 42, min: 0, help: "seed of the initialisation, shuffling and dropout"),
        .choice("loss", TrainObjective.allCases.map(\.rawValue), default: defaultLoss.rawValue, help: lossHelp),
        .int("negatives", default: 1, min: 0, max: 64, help: "hard negatives per example (capped by the fewest any example of the batch has)"),
        .int("max-length", default: 128, min: 8, max: 8192, help: "tokens per text (capped by the model)"),
        .int("checkpoint-every", default: 100, min: 0, help: "optimizer steps between checkpoints in DIR/checkpoint (0: only at the end)"),
        .int("log-every", default: 10, min: 1, help: "optimizer steps between progress lines on stderr"),
        CommonFlags.threads,
        .double("dropout", default: 0.1, .halfOpen(0, 1), help: "hidden and attention dropout probability"),
        .double("scale", default: 20, help: "similarity scale: MNRL ranks cosine x scale (20 as sentence-transformers); DE distillation scores are scale x cosine"),
        .double("temperature", default: 1, help: "temperature of the KL distillation (--loss kl)"),
    ] }

    /// The flags of `strata eval`-style dev evaluation during training (--eval-data and its sample sizes).
    static let devEvalFlags: [Flag] = [
        .string("eval-split", "NAME", default: "dev", help: "qrels split of --eval-data"),
        .int("eval-max-corpus", default: 2000, min: 1, help: "documents of the dev corpus (every judged one kept)"),
        .int("eval-max-queries", default: 200, min: 1, help: "judged dev queries"),
    ]

    static let spec = CommandSpec("infuse", summary: "build DE-k from a cross encoder's early layers (or a DE's, or random) and train it (MNRL)", flags: [
        .string("ce", "CE_DIR", required: true, help: "the cross encoder (BertForSequenceClassification) to infuse from"),
        .path("train", "FILE", required: true, help: "jsonl {\"query\",\"positive\"} [+ \"negative\" / \"negatives\": [...]] [+ \"scores\" for distillation]"),
        .path("out", "DIR", required: true, help: "sentence-transformers model directory (Transformer + mean Pooling + Normalize); a run killed part-way resumes from DIR/checkpoint when started again with the same flags"),
        .choice("init", InfusionInit.allCases.map(\.rawValue), default: "ce", help: "where the embeddings and the first --copy layers come from: the CE (DE-k CE), a dual encoder given by --de (DE-k DE), or nowhere (DE-k random: everything N(0, 0.02), shapes and tokenizer of the CE)"),
        .string("de", "DE_DIR", help: "the dual encoder of --init de"),
        .int("layers", "K", default: 2, min: 1, max: 48, help: "encoder layers of the new DE"),
        .int("copy", "C", default: 1, min: 0, max: 48, help: "of them, copied from the source (at most --layers); the rest start fresh"),
        .bool("symmetric", help: "MNRL in both directions (MultipleNegativesSymmetricRankingLoss)"),
    ] + trainingFlags(defaultLoss: .mnrl, lossHelp: "mnrl (MultipleNegativesRankingLoss, cosine x --scale, in-batch + hard negatives), or margin-mse or kl (distillation from \"scores\"); bce trains a CE (strata train-ce)") + [
        .path("eval-data", "BEIR_DIR", help: "after every checkpoint and at the end, retrieval on this BEIR dataset's --eval-split (subsampled to --eval-max-queries judged queries and --eval-max-corpus documents, every judged one kept): nDCG@10, MRR@10, Hits@10 on stderr"),
    ] + devEvalFlags, details: "Progress (step, loss, examples/s, ETA) goes to stderr.")

    static func run(_ a: Arguments) throws {
        try applyThreads(a)
        let initFrom = InfusionInit(rawValue: a.value("init"))!
        let ceDir = try ModelLocator.resolve(a.value("ce"))
        var sourceDir = ceDir
        if initFrom == .de {
            guard let de = a.string("de") else { throw CLIError("--init de needs --de DE_DIR", usage: true) }
            sourceDir = try ModelLocator.resolve(de)
        }
        let layers = a.int("layers")!
        let copy = try a.int("copy", within: 0...layers)!
        var options = trainOptions(a)
        options.symmetric = a.flag("symmetric")
        guard options.objective != .bce else { throw CLIError("--loss bce is for train-ce; infuse trains a DE", usage: true) }
        let out = URL(fileURLWithPath: a.value("out"))
        let examples = try loadTrainingExamples(URL(fileURLWithPath: a.value("train")))
        note("\(examples.count) training examples")

        var devSet: BEIRDataset? = nil
        if let d = a.string("eval-data") {
            devSet = try loadDataset(d, split: a.value("eval-split"), maxCorpus: a.int("eval-max-corpus"), maxQueries: a.int("eval-max-queries"))
        }
        let source = try BertWeights.load(directory: sourceDir)
        if initFrom == .ce && source.classifier == nil {
            note("warning: --ce \(ceDir.path) has no classifier head: it looks like a dual encoder, not a cross encoder")
        }
        let tokDir = sourceDir
        let (tok, maxLen) = try makeTokenizer(tokDir, a)
        let model: TrainableBert, trainer: Trainer, template: BertWeights
        if let r = try resumeFromCheckpoint(out: out, examples: examples, tokenizer: tok, options: options, classifier: false) {
            note("resuming from \(r.dir.path) at step \(r.trainer.state.step)/\(r.trainer.state.totalSteps)")
            (model, trainer, template) = (r.model, r.trainer, r.weights)
        } else {
            model = try buildInfusedDualEncoder(source: source, layers: layers, copy: copy, initFrom: initFrom, seed: options.seed)
            trainer = try Trainer(model: model, examples: examples, tokenizer: tok, options: options)
            template = source
            note("DE-\(layers) \(initFrom.rawValue): embeddings + \(initFrom == .random ? 0 : copy) layer(s) from \(initFrom == .random ? "nowhere (random)" : sourceDir.path), \(layers - (initFrom == .random ? 0 : copy)) fresh; \(trainer.state.totalSteps) steps of \(options.batchSize * options.accumulation) examples")
        }
        _ = model
        let settings = SessionSettings(out: out, kind: .dualEncoder(maxSeqLength: maxLen), tokenizerDir: tokDir,
                                       checkpointEvery: a.int("checkpoint-every")!,
                                       template: template, extraPooler: initFrom == .random ? nil : source.pooler)
        let t0 = Date()
        let evalHook: ((URL) throws -> Void)? = devSet.map { ds in { dir in note("dev eval at step \(trainer.state.step): " + (try devEvaluate(dir, ds))) } }
        try runSession(trainer, settings: settings, logEvery: a.int("log-every")!, log: note,
                       afterCheckpoint: evalHook)
        note("training took \(formatDuration(Date().timeIntervalSince(t0)))")
        if let ds = devSet { note("dev eval of \(out.path): " + (try devEvaluate(out, ds))) }
    }

    /// nDCG@10, MRR@10 and Hits@10 of the DE in `dir` on `ds` (exact cosine search), as one line.
    static func devEvaluate(_ dir: URL, _ ds: BEIRDataset) throws -> String {
        let model = try loadEvalModel(dir.path)
        let qv = try model.embed(ds.queries.map(\.text), layer: nil)
        let dv = try embedInBatches(ds.corpus.map(\.embeddingText), label: "dev corpus") { [try model.embed($0, layer: nil)] }[0]
        let run = Retrieval.search(queryIds: ds.queries.map(\.id), queryVectors: qv, docIds: ds.corpus.map(\.id), docVectors: dv, k: 10)
        let e = evaluate(run: run, qrels: ds.qrels, cutoffs: [10])
        return ["nDCG@10", "MRR@10", "Hits@10"].map { "\($0) " + String(format: "%.4f", e.mean[$0] ?? .nan) }.joined(separator: "  ")
            + "  (\(ds.queries.count) queries, \(ds.corpus.count) documents)"
    }

    /// TrainOptions from the flags every training command shares (`trainingFlags`, already checked).
    static func trainOptions(_ a: Arguments) -> TrainOptions {
        var o = TrainOptions()
        o.epochs = a.int("epochs")!
        o.batchSize = a.int("batch")!
        o.accumulation = a.int("accumulation")!
        o.maxSteps = a.int("max-steps")
        o.lr = Float(a.double("lr")!)
        o.weightDecay = Float(a.double("weight-decay")!)
        o.warmupRatio = Float(a.double("warmup")!)
        o.seed = UInt64(a.int("seed")!)
        o.maxNegatives = a.int("negatives")!
        o.scale = Float(a.double("scale")!)
        o.temperature = Float(a.double("temperature")!)
        let p = Float(a.double("dropout")!)
        o.hiddenDropout = p; o.attentionDropout = p
        o.objective = TrainObjective(rawValue: a.value("loss"))!
        return o
    }

    /// The model directory's tokenizer wrapped for the trainer, with the --max-length cap (default 128).
    static func makeTokenizer(_ dir: URL, _ a: Arguments) throws -> (TextTokenizer, Int) {
        let t = try BertTokenizer(directory: dir)
        let maxLen = min(a.int("max-length")!, t.maxLength)
        let tok = TextTokenizer(single: { s in let e = t.encode(s, maxLength: maxLen); return (e.ids, e.typeIds) },
                                pair: { x, y in let e = t.encodePair(x, y, maxLength: maxLen); return (e.ids, e.typeIds) })
        return (tok, maxLen)
    }
}
