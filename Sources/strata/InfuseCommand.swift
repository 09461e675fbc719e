import Foundation
import Eval
import Model
import Tokenizer
import Train

/// `strata infuse`: knowledge infusion, the paper's DE-k CE (and its DE-k DE / DE-k random baselines).
enum InfuseCommand: Subcommand {
    static let name = "infuse"
    static let summary = "build DE-k from a cross encoder's early layers (or a DE's, or random) and train it (MNRL)"
    static let usage = """
    usage: strata infuse --ce CE_DIR --train FILE --out DIR [--layers 2] [--copy 1] [--init ce|de|random] [--de DE_DIR]
                         [--epochs 1] [--batch 16] [--lr 2e-5] [--max-steps N] [--seed 42] [--loss mnrl|margin-mse|kl]
                         [--symmetric] [--negatives 1] [--max-length 128] [--accumulation 1] [--warmup 0.1]
                         [--weight-decay 0.01] [--checkpoint-every 100] [--log-every 10] [--threads N]
                         [--eval-data BEIR_DIR [--eval-split dev] [--eval-max-corpus 2000] [--eval-max-queries 200]]

      --ce CE_DIR        the cross encoder (BertForSequenceClassification) to infuse from
      --init ce|de|random  where the embeddings and the first --copy layers come from: the CE (DE-k CE, default),
                         a dual encoder given by --de (DE-k DE), or nowhere (DE-k random: everything N(0, 0.02),
                         shapes and tokenizer of the CE)
      --layers K         encoder layers of the new DE (default 2); --copy C of them copied (default 1), the rest fresh
      --train FILE       jsonl {"query","positive"} [+ "negative" / "negatives": [...]] [+ "scores" for distillation]
      --out DIR          sentence-transformers model directory (Transformer + mean Pooling + Normalize); a run
                         killed part-way resumes from DIR/checkpoint when started again with the same flags
      --loss             mnrl (MultipleNegativesRankingLoss, cosine x 20, in-batch + hard negatives; default),
                         margin-mse or kl (distillation from "scores")
      --symmetric        MNRL in both directions (MultipleNegativesSymmetricRankingLoss)
      --negatives N      hard negatives per example (default 1 when the file has them)
      --max-length N     tokens per text (default 128, capped by the model)
      --eval-data DIR    after every checkpoint and at the end, retrieval on this BEIR dataset's --eval-split
                         (default dev; subsampled to --eval-max-queries judged queries and --eval-max-corpus
                         documents, every judged one kept): nDCG@10, MRR@10, Hits@10 on stderr
    Progress (step, loss, examples/s, ETA) goes to stderr.
    """

    static let commonOptions: Set<String> = ["train", "out", "epochs", "batch", "lr", "max-steps", "seed", "loss", "negatives",
                                             "max-length", "accumulation", "warmup", "weight-decay", "checkpoint-every",
                                             "log-every", "threads", "dropout", "scale", "temperature"]

    static func run(_ args: [String]) throws {
        let a = try Arguments(args, command: name, options: commonOptions.union(["ce", "de", "layers", "copy", "init", "eval-data",
                                                                                   "eval-split", "eval-max-corpus", "eval-max-queries"]),
                              flags: ["symmetric"])
        try applyThreads(a)
        guard let initFrom = InfusionInit(rawValue: a.string("init") ?? "ce") else {
            throw CLIError("--init must be ce, de or random, got '\(a.string("init")!)'", usage: true)
        }
        let ceDir = try ModelLocator.resolve(try a.required("ce"))
        var sourceDir = ceDir
        if initFrom == .de {
            guard let de = a.string("de") else { throw CLIError("--init de needs --de DE_DIR", usage: true) }
            sourceDir = try ModelLocator.resolve(de)
        }
        let layers = try a.int("layers", default: 2, min: 1, max: 48)!
        let copy = try a.int("copy", default: 1, min: 0, max: layers)!
        var options = try trainOptions(a, defaultObjective: .mnrl)
        options.symmetric = a.flag("symmetric")
        guard options.objective != .bce else { throw CLIError("--loss bce is for train-ce; infuse trains a DE", usage: true) }
        let out = URL(fileURLWithPath: try a.required("out"))
        let examples = try loadTrainingExamples(URL(fileURLWithPath: try a.required("train")))
        note("\(examples.count) training examples")

        var devSet: BEIRDataset? = nil
        if let d = a.string("eval-data") {
            devSet = try loadDataset(d, split: a.string("eval-split") ?? "dev",
                                     maxCorpus: try a.int("eval-max-corpus", default: 2000, min: 1),
                                     maxQueries: try a.int("eval-max-queries", default: 200, min: 1))
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
                                       checkpointEvery: try a.int("checkpoint-every", default: 100, min: 0)!,
                                       template: template, extraPooler: initFrom == .random ? nil : source.pooler)
        let t0 = Date()
        let evalHook: ((URL) throws -> Void)? = devSet.map { ds in { dir in note("dev eval at step \(trainer.state.step): " + (try devEvaluate(dir, ds))) } }
        try runSession(trainer, settings: settings, logEvery: try a.int("log-every", default: 10, min: 1)!, log: note,
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

    /// TrainOptions from the flags every training command shares.
    static func trainOptions(_ a: Arguments, defaultObjective: TrainObjective) throws -> TrainOptions {
        var o = TrainOptions()
        o.epochs = try a.int("epochs", default: 1, min: 1, max: 10_000)!
        o.batchSize = try a.int("batch", default: 16, min: 2, max: 4096)!
        o.accumulation = try a.int("accumulation", default: 1, min: 1, max: 1024)!
        o.maxSteps = try a.int("max-steps", min: 1)
        o.lr = Float(try a.double("lr", default: 2e-5)!)
        o.weightDecay = Float(try a.double("weight-decay", default: 0.01)!)
        o.warmupRatio = Float(try a.double("warmup", default: 0.1)!)
        guard o.lr > 0, (0...1).contains(o.warmupRatio) else { throw CLIError("--lr must be > 0 and --warmup in [0, 1]", usage: true) }
        o.seed = UInt64(try a.int("seed", default: 42, min: 0)!)
        o.maxNegatives = try a.int("negatives", default: 1, min: 0, max: 64)!
        o.scale = Float(try a.double("scale", default: 20)!)
        o.temperature = Float(try a.double("temperature", default: 1)!)
        let p = Float(try a.double("dropout", default: 0.1)!)
        guard (0..<1).contains(p) else { throw CLIError("--dropout must be in [0, 1), got \(p)", usage: true) }
        o.hiddenDropout = p; o.attentionDropout = p
        if let l = a.string("loss") {
            guard let obj = TrainObjective(rawValue: l) else {
                throw CLIError("--loss must be one of \(TrainObjective.allCases.map(\.rawValue).joined(separator: ", ")), got '\(l)'", usage: true)
            }
            o.objective = obj
        } else {
            o.objective = defaultObjective
        }
        return o
    }

    /// The model directory's tokenizer wrapped for the trainer, with the --max-length cap (default 128).
    static func makeTokenizer(_ dir: URL, _ a: Arguments) throws -> (TextTokenizer, Int) {
        let t = try BertTokenizer(directory: dir)
        let maxLen = min(try a.int("max-length", default: 128, min: 8, max: 8192)!, t.maxLength)
        let tok = TextTokenizer(single: { s in let e = t.encode(s, maxLength: maxLen); return (e.ids, e.typeIds) },
                                pair: { x, y in let e = t.encodePair(x, y, maxLength: maxLen); return (e.ids, e.typeIds) })
        return (tok, maxLen)
    }
}
