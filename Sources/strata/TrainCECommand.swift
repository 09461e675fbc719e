import Kernels
import Foundation
import Eval
import Model
import Train
import CommandLineFlags

/// `strata train-ce`: fine-tune a one-logit cross encoder with BCE (or distillation) on query / positive / negatives.
enum TrainCECommand: Subcommand {
    static let spec = CommandSpec("train-ce", summary: "fine-tune a cross encoder (1 logit) on query/positive/hard-negative triples", flags: [
        .string("init", "DIR", required: true, help: "any BERT checkpoint: a cross encoder (its head is kept) or a BertModel / sentence-transformers DE (a pooler is kept when it has one; the classifier starts N(0, 0.02))"),
        .path("train", "FILE", required: true, help: "jsonl {\"query\",\"positive\",\"negatives\":[...]}: each example gives (query, positive) label 1 and (query, negative) label 0 for up to --negatives negatives (mine them with a DE beforehand); \"scores\" (teacher logits for positive + negatives) for --loss margin-mse / kl"),
        .path("out", "DIR", required: true, help: "transformers BertForSequenceClassification directory (sentence-transformers CrossEncoder loads it); a killed run resumes from DIR/checkpoint when started again with the same flags"),
        .int("layers", "K", defaultNote: "all", min: 1, help: "keep only the first K encoder layers"),
        .bool("from-scratch", help: "take only the shapes (config.json) and tokenizer of --init; every weight starts N(0, 0.02) as BERT initialises (a CE that shares nothing with the DE it may be compared with)"),
    ] + InfuseCommand.trainingFlags(defaultLoss: .bce, lossHelp: "bce (binary cross-entropy on the labels), or margin-mse or kl (distillation from \"scores\"); mnrl trains a DE (strata infuse)") + [
        .path("eval-data", "BEIR_DIR", help: "after every checkpoint and at the end: the DE --eval-de retrieves from this BEIR dataset's --eval-split (subsampled; judged documents kept), the CE re-ranks the top --eval-top; nDCG@10, MRR@10, Hits@10 of the first stage and after re-ranking on stderr"),
        .string("eval-de", "DE_DIR", help: "the first stage of --eval-data (required with it)"),
        .int("eval-top", default: 10, min: 1, max: 1000, help: "candidates the CE re-ranks per dev query"),
    ] + InfuseCommand.devEvalFlags, details: "Progress (step, loss, examples/s, ETA) goes to stderr.")

    static func run(_ a: Arguments) throws {
        let fromScratch = a.flag("from-scratch")
        try applyThreads(a)
        let initDir = try ModelLocator.resolve(a.value("init"))
        let options = InfuseCommand.trainOptions(a)
        guard options.objective != .mnrl else { throw CLIError("--loss mnrl trains a DE (strata infuse)", usage: true) }
        let out = URL(fileURLWithPath: a.value("out"))
        let examples = try loadTrainingExamples(URL(fileURLWithPath: a.value("train")))
        let withNegatives = examples.filter { !$0.negatives.isEmpty }.count
        note("\(examples.count) training examples, \(withNegatives) with negatives")
        if options.objective == .bce && withNegatives == 0 {
            throw CLIError("\(a.string("train")!): no example has a negative; BCE needs (query, negative) pairs")
        }
        var firstStage: (ds: BEIRDataset, run: Run, top: Int)? = nil
        if let d = a.string("eval-data") {
            guard let de = a.string("eval-de") else { throw CLIError("--eval-data needs --eval-de DE_DIR (the first stage)", usage: true) }
            let ds = try loadDataset(d, split: a.value("eval-split"), maxCorpus: a.int("eval-max-corpus"), maxQueries: a.int("eval-max-queries"))
            let top = a.int("eval-top")!
            let deModel = try loadEvalModel(de)
            let qv = try deModel.embed(ds.queries.map(\.text), layer: nil)
            let dv = try embedInBatches(ds.corpus.map(\.embeddingText), label: "dev corpus") { [try deModel.embed($0, layer: nil)] }[0]
            let run = Retrieval.search(queryIds: ds.queries.map(\.id), queryVectors: qv, docIds: ds.corpus.map(\.id), docVectors: dv, k: max(top, 10))
            note("dev first stage (\(deModel.name)): " + metricsLine(evaluate(run: run, qrels: ds.qrels, cutoffs: [10])))
            firstStage = (ds, run, top)
        }
        var source = try BertWeights.load(directory: initDir)
        let (tok, maxLen) = try InfuseCommand.makeTokenizer(initDir, a)
        let trainer: Trainer, template: BertWeights
        if let r = try resumeFromCheckpoint(out: out, examples: examples, tokenizer: tok, options: options, classifier: true) {
            note("resuming from \(r.dir.path) at step \(r.trainer.state.step)/\(r.trainer.state.totalSteps)")
            (trainer, template) = (r.trainer, r.weights)
        } else {
            let layers = try a.int("layers", within: 1...source.layers.count) ?? source.layers.count
            if source.classifier != nil && source.config.numLabels != 1 {
                note("note: \(initDir.path) has \(source.config.numLabels) labels; a fresh 1-logit classifier replaces it")
                source.classifier = nil
            }
            var cfg = source.config
            cfg.id2label = ["0": "LABEL_0"]
            source.config = cfg
            let model = TrainableBert(shape: BertShape(config: cfg, layers: layers, classifier: true))
            var rng = SplitMix64(seed: options.seed)
            model.initialize(rng: &rng)
            if fromScratch {
                source.classifier = nil
            } else {
                // the source's pooler and classifier where it has them (a DE with a pooler: kept, classifier fresh)
                try model.copy(from: source, embeddings: true, layers: 0..<layers, head: true)
            }
            trainer = try Trainer(model: model, examples: examples, tokenizer: tok, options: options)
            template = source
            note((fromScratch ? "CE from scratch (shapes and tokenizer of \(initDir.path))" : "CE from \(initDir.path)")
                 + ": \(layers) layers, head \(source.classifier != nil ? "kept" : "fresh"); \(trainer.state.totalSteps) steps of \(options.batchSize * options.accumulation) examples")
        }
        let settings = SessionSettings(out: out, kind: .crossEncoder(maxLength: maxLen), tokenizerDir: initDir,
                                       checkpointEvery: a.int("checkpoint-every")!,
                                       template: template, extraPooler: nil)
        let t0 = Date()
        let rerankEval = { (dir: URL) throws -> String in
            guard let f = firstStage else { return "" }
            let ce = try loadEvalModel(dir.path)
            let queries = Dictionary(uniqueKeysWithValues: f.ds.queries.map { ($0.id, $0.text) })
            let docs = Dictionary(uniqueKeysWithValues: f.ds.corpus.map { ($0.id, $0.embeddingText) })
            let rr = try Retrieval.rerank(run: f.run, queries: queries, documents: docs, top: f.top, batch: 256) { try ce.score($0) }
            return metricsLine(evaluate(run: rr, qrels: f.ds.qrels, cutoffs: [10])) + "  (re-ranking the top \(f.top))"
        }
        let hook: ((URL) throws -> Void)? = firstStage == nil ? nil : { dir in note("dev eval at step \(trainer.state.step): " + (try rerankEval(dir))) }
        try runSession(trainer, settings: settings, logEvery: a.int("log-every")!, log: note,
                       afterCheckpoint: hook)
        note("training took \(formatDuration(Date().timeIntervalSince(t0)))")
        if firstStage != nil { note("dev eval of \(out.path): " + (try rerankEval(out))) }
    }

    /// "nDCG@10 x  MRR@10 y  Hits@10 z" from an evaluation at cutoff 10.
    static func metricsLine(_ e: Evaluation) -> String {
        ["nDCG@10", "MRR@10", "Hits@10"].map { "\($0) " + String(format: "%.4f", e.mean[$0] ?? .nan) }.joined(separator: "  ")
    }
}
