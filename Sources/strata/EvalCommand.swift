import Foundation
import Kernels
import Eval
import Formats
import CommandLineFlags

/// `strata eval`: dense retrieval over a BEIR dataset, optional cross-encoder re-ranking, metrics
/// as trec_eval defines them, a TREC run file and the time of each stage.
enum EvalCommand: Subcommand {
    static let spec = CommandSpec("eval", summary: "retrieve (+ re-rank) on a BEIR dataset; trec_eval metrics, TREC run, stage times", flags: [
        .string("model", "DIR", required: true, help: "dual or cross encoder (a cross encoder embeds a text paired with itself)"),
        .path("data", "DIR", required: true, help: "BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv"),
        .string("split", "NAME", default: "test", help: "qrels split to evaluate"),
        .int("layer", "K", defaultNote: "the model's own pooling of its last layer", min: 0,
             help: "embed with mean pooling of hidden state K (0 = embeddings)"),
        .int("top", default: 100, min: 1, help: "documents retrieved per query (exact cosine search)"),
        .string("rerank", "CE_DIR", help: "re-rank the top --rerank-top of each query with this cross encoder"),
        .int("rerank-top", default: 100, min: 1, help: "candidates re-ranked per query"),
        .path("run", "FILE", help: "write the final ranking as a 6-column TREC run (qid Q0 docid rank score run)"),
        .path("output", "FILE", help: "write the metrics, settings and stage times as JSON"),
        .int("batch", default: 32, min: 1, help: "texts per encoder call"),
        .intList("cutoffs", default: "1,3,5,10,100", help: "metric cutoffs"),
        .int("max-corpus", min: 1, help: "keep every judged document plus others up to N documents (quick runs)"),
        .int("max-queries", min: 1, help: "evaluate the first N judged queries only"),
        CommonFlags.precision("for --model and --rerank (weights converted when loaded)"),
    ], details: """
    Embeds the queries and the corpus (title + " " + text, as BEIR does) with --model, retrieves the
    top --top documents of each query by cosine similarity (exact search), optionally re-ranks the top
    --rerank-top with the cross encoder --rerank, and prints nDCG, MRR, Recall, MAP, Hits (success)
    and P at each cutoff, exactly as trec_eval computes them, and the time of each stage.
    """)

    static func run(_ a: Arguments) throws {
        let modelPath = a.value("model"), dataPath = a.value("data")
        let split = a.value("split")
        let top = a.int("top")!
        let rerankTop = a.int("rerank-top")!
        let batch = a.int("batch")!
        let layer = a.int("layer")
        let cutoffs = a.ints("cutoffs")!
        // Before anything is read: no output may be one of the dataset's files, nor the other output.
        let inputs = ["corpus.jsonl", "queries.jsonl", "qrels/\(split).tsv"].map { dataPath + "/" + $0 }
        for flag in ["run", "output"] {
            guard let p = a.string(flag) else { continue }
            try refuseOutputOverInputs(p, flag: flag, inputs: inputs)
            try checkCanWrite(p, flag: flag)
        }
        if let r = a.string("run"), let o = a.string("output") { try refuseOutputOverInputs(o, flag: "output", inputs: [r]) }
        if a.string("run") != nil, a.string("run") == a.string("output") { throw CLIError("--run and --output are the same file", usage: true) }
        let ds = try loadDataset(dataPath, split: split, maxCorpus: a.int("max-corpus"), maxQueries: a.int("max-queries"))
        let precision = try PrecisionOption.parse(a)
        let model = try loadEvalModel(modelPath, batch: batch, precision: precision)
        if let layer, layer > model.numLayers {
            throw CLIError("--layer \(layer) is out of range: \(model.name) has layers 0...\(model.numLayers)", usage: true)
        }
        let reranker = try a.string("rerank").map { try loadEvalModel($0, batch: batch, precision: precision) }
        if let r = reranker, !r.isCrossEncoder { throw CLIError("--rerank \(r.name) is not a cross encoder") }
        let dataset = URL(fileURLWithPath: dataPath).lastPathComponent
        print("dataset \(dataset) (\(split)): \(ds.queries.count) queries, \(ds.corpus.count) documents")
        print("model \(model.name) (\(model.isCrossEncoder ? "cross encoder, self-pair" : "dual encoder")), "
              + (layer.map { "layer \($0), mean pooling" } ?? "last layer, the model's pooling"))

        let queryTexts = ds.queries.map(\.text), docTexts = ds.corpus.map(\.embeddingText)
        let (tokens, tTok) = timed { model.tokenize(queryTexts) + model.tokenize(docTexts) }
        let (qv, tQ) = try timed { try embedInBatches(queryTexts, label: "queries") { [try model.embed($0, layer: layer)] }[0] }
        let (dv, tD) = try timed { try embedInBatches(docTexts, label: "corpus") { [try model.embed($0, layer: layer)] }[0] }
        let (retrieved, tSearch) = timed {
            Retrieval.search(queryIds: ds.queries.map(\.id), queryVectors: qv, docIds: ds.corpus.map(\.id), docVectors: dv, k: top)
        }
        let retrievalEval = evaluate(run: retrieved, qrels: ds.qrels, cutoffs: cutoffs)
        var final = retrieved, finalEval = retrievalEval
        var tRerank: Double? = nil
        if let reranker {
            print("\nfirst stage (\(model.name)):")
            print(formatMetrics(retrievalEval))
            note("re-ranking the top \(rerankTop) of \(ds.queries.count) queries with \(reranker.name)")
            let queries = Dictionary(uniqueKeysWithValues: ds.queries.map { ($0.id, $0.text) })
            let docs = Dictionary(uniqueKeysWithValues: ds.corpus.map { ($0.id, $0.embeddingText) })
            let totalPairs = retrieved.values.reduce(0) { $0 + min($1.count, rerankTop) }
            var scored = 0
            let (rr, t) = try timed {
                try Retrieval.rerank(run: retrieved, queries: queries, documents: docs, top: rerankTop, batch: 1024) { pairs in
                    let s = try reranker.score(pairs)
                    scored += pairs.count
                    note("  re-rank: \(scored)/\(totalPairs) pairs")
                    return s
                }
            }
            final = rr; tRerank = t
            finalEval = evaluate(run: rr, qrels: ds.qrels, cutoffs: cutoffs)
            print("\nafter re-ranking the top \(rerankTop) with \(reranker.name):")
        } else {
            print()
        }
        print(formatMetrics(finalEval))
        let texts = Double(queryTexts.count + docTexts.count)
        var timesLine = String(format: "\ntimes: tokenise %.2f s (%ld tokens, a separate pass; encode includes its own), encode %.2f s (%.1f texts/s), search %.3f s",
                               tTok, tokens, tQ + tD, texts / max(tQ + tD, 1e-9), tSearch)
        timesLine += tRerank.map { String(format: ", re-rank %.2f s", $0) } ?? ", re-rank -"
        print(timesLine)

        // The run goes to RUN.partial (a DurableFile) and is committed (fsync, renamed into place,
        // directory fsync'd) only when everything else succeeded: a failed eval leaves no run file
        // (nor a half-written one, nor the .partial).
        var runFile: DurableFile? = nil
        if let runPath = a.string("run") {
            let runName = "strata-\(model.name)" + (layer.map { "-L\($0)" } ?? "") + (reranker.map { "-rerank-\($0.name)" } ?? "")
            let f = try DurableFile(path: runPath)
            runFile = f
            try writeTrecRun(final, queryOrder: ds.queries.map(\.id), runName: runName, to: f)
        }
        defer { runFile?.discard() }
        if let out = a.string("output") {
            var extra: [String: Any] = [
                "dataset": dataset, "split": split, "model": model.name, "corpus": ds.corpus.count, "top": top,
                "times_s": ["tokenise": tTok, "encode": tQ + tD, "search": tSearch, "rerank": tRerank as Any? ?? NSNull()],
            ]
            extra["layer"] = layer ?? NSNull()
            if let reranker {
                extra["rerank"] = ["model": reranker.name, "top": rerankTop]
                var first: [String: Double] = [:]
                for n in retrievalEval.names { first[n] = retrievalEval.mean[n] }
                extra["first_stage_metrics"] = first
            }
            try writeMetricsJSON(finalEval, extra: extra, to: URL(fileURLWithPath: out))
            note("wrote \(out)")
        }
        if let runFile {
            try runFile.commit()
            note("wrote \(runFile.path)")
        }
    }
}
