import Foundation
import Kernels
import Eval
import CommandLineFlags

/// `strata layers`: the paper's sweep. Every hidden state 0...N of every model, mean-pooled
/// (a cross encoder embeds a text paired with itself), evaluated for retrieval.
enum LayersCommand: Subcommand {
    static let spec = CommandSpec("layers", summary: "retrieval quality of every layer of each model (JSON, Markdown, SVG plot)", flags: [
        .string("model", "DIR", required: true, repeatable: true, help: "a dual or cross encoder to sweep; give --model once per model"),
        .path("data", "DIR", required: true, help: "BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv"),
        .string("split", "NAME", default: "test", help: "qrels split to evaluate"),
        .path("out", "DIR", defaultNote: "./layers-<dataset>", help: "output folder"),
        .string("name", "LABEL", defaultNote: "the data folder's name", help: "dataset label in tables and the plot"),
        .int("max-corpus", min: 1, help: "keep every judged document plus others up to N documents"),
        .int("max-queries", min: 1, help: "the first N judged queries only"),
        .int("batch", default: 32, min: 1, help: "texts per encoder call"),
        CommonFlags.precision("dense weights converted when loaded"),
    ], details: """
    For each model, embeds the queries and the corpus once (one forward pass per text serves all
    layers), mean-pools each hidden state 0 (embeddings) ... N over the text's tokens (a cross
    encoder reads [CLS] s [SEP] s [SEP] and pools the text's tokens), retrieves the top 100 by cosine
    and evaluates. Writes DIR/layers.json, DIR/layers.md (tables) and DIR/layers.svg (nDCG@10 and
    MRR@10 against layer, a line per model).
    """)

    static let plotMetrics = ["nDCG@10", "MRR@10"]
    static let tableMetrics = ["nDCG@10", "MRR@10", "Recall@100", "Hits@10"]

    static func run(_ a: Arguments) throws {
        let models = a.strings("model")
        let dataPath = a.value("data")
        let split = a.value("split")
        let batch = a.int("batch")!
        let label = a.string("name") ?? URL(fileURLWithPath: dataPath).lastPathComponent
        let outDir = a.string("out") ?? "layers-\(label)"
        let precision = try PrecisionOption.parse(a)
        let ds = try loadDataset(dataPath, split: split, maxCorpus: a.int("max-corpus"), maxQueries: a.int("max-queries"))
        try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        print("dataset \(label) (\(split)): \(ds.queries.count) queries, \(ds.corpus.count) documents")
        let queryTexts = ds.queries.map(\.text), docTexts = ds.corpus.map(\.embeddingText)
        var series: [LayerSweep.Series] = []
        var names: [String] = []
        for path in models {
            let model = try loadEvalModel(path, batch: batch, precision: precision)
            let kind = model.isCrossEncoder ? "cross encoder, self-pair" : "dual encoder"
            note("\(model.name) (\(kind)): \(model.numLayers) layers")
            let (qv, tQ) = try timed { try embedInBatches(queryTexts, label: "\(model.name) queries") { try model.embedAllLayers($0) } }
            let (dv, tD) = try timed { try embedInBatches(docTexts, label: "\(model.name) corpus") { try model.embedAllLayers($0) } }
            guard qv.count == model.numLayers + 1, dv.count == qv.count else {
                throw CLIError("\(model.name) returned \(qv.count) hidden states, expected \(model.numLayers + 1)")
            }
            let ((perLayer, metricNames), tS) = timed { LayerSweep.evaluateLayers(dataset: ds, queryLayers: qv, docLayers: dv) }
            names = metricNames
            print(String(format: "%@: encode %.1f s (%.1f texts/s, all layers), search + evaluate %.2f s for %d layers",
                         model.name, tQ + tD, Double(queryTexts.count + docTexts.count) / max(tQ + tD, 1e-9), tS, qv.count))
            series.append(.init(model: model.name, kind: kind, metrics: perLayer))
        }
        let sweep = LayerSweep(dataset: label, split: split, queries: ds.queries.count, corpus: ds.corpus.count,
                               series: series, metricNames: names)
        let md = sweep.markdown(metrics: tableMetrics)
        print("\n" + md)
        let base = URL(fileURLWithPath: outDir)
        try writeFileAtomically(try sweep.json(), to: base.appendingPathComponent("layers.json").path)
        try writeText(md, to: base.appendingPathComponent("layers.md").path)
        try writeText(sweep.svg(metrics: plotMetrics), to: base.appendingPathComponent("layers.svg").path)
        note("wrote \(outDir)/layers.{json,md,svg}")
    }
}
