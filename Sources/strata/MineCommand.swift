import Foundation
import Formats
import Kernels
import Model
import Index
import Eval
import Train
import CommandLineFlags

/// `strata mine`: hard negatives mined with a dual encoder, written as a training jsonl for
/// `strata train-ce` / `strata infuse` ({"query","positive","negatives"}).
enum MineCommand: Subcommand {
    static let spec = CommandSpec("mine", summary: "mine DE hard negatives on a BEIR split; writes the training jsonl", flags: [
        .string("model", "DE_DIR", required: true, help: "dual encoder used for mining (e.g. all-MiniLM-L6-v2)"),
        .path("data", "BEIR_DIR", required: true, help: "BEIR folder: corpus.jsonl, queries.jsonl, qrels/<split>.tsv"),
        .path("out", "FILE", required: true, help: "the training jsonl to write"),
        .string("split", "NAME", default: "train", help: "qrels split to mine"),
        .int("negatives", default: 3, min: 1, help: "hard negatives per line"),
        .int("max-queries", min: 1, help: "a random sample (seeded by --seed) of N judged queries"),
        .int("max-corpus", min: 1, help: "search a corpus of N documents: every relevant document of the kept queries, then a random sample (seeded) of the others; the judged ones are always kept"),
        .int("skip-top", "K", default: 0, min: 0, help: "ranks left out at the top before negatives are taken"),
        .int("seed", default: 42, min: 0, help: "seed of the --max-queries and --max-corpus samples"),
        .int("batch", default: 32, min: 1, help: "texts per encoder call"),
    ], details: """
    Embeds the judged queries of --split and the corpus with the dual encoder --model, searches the
    corpus exactly (cosine, Index.FlatIndex) and writes, for every (query, relevant document) pair, one
    line {"query", "positive", "negatives": [...]}: the --negatives best-ranked documents that are not
    judged for that query (any judgement, relevant or not), after leaving out the first --skip-top
    ranks (to step over likely unlabelled positives). Texts are written as the models embed them
    (title + " " + text, as BEIR does).
    """)

    static func run(_ a: Arguments) throws {
        let modelPath = a.value("model"), dataPath = a.value("data"), outPath = a.value("out")
        let split = a.value("split")
        let negatives = a.int("negatives")!
        let skipTop = a.int("skip-top")!
        let seed = a.int("seed")!
        let batch = a.int("batch")!
        let maxQueries = a.int("max-queries"), maxCorpus = a.int("max-corpus")
        // Before anything is read: the output may not be one of the dataset's files, and must be writable.
        let inputs = ["corpus.jsonl", "queries.jsonl", "qrels/\(split).tsv"].map { dataPath + "/" + $0 }
        try refuseOutputOverInputs(outPath, flag: "out", inputs: inputs)
        try checkCanWrite(outPath, flag: "out")

        let enc = try TextEncoder.load(modelPath)
        guard enc.kind == .dualEncoder else { throw CLIError("--model \(modelPath) is not a dual encoder") }
        enc.batchSize = batch
        let full = try BEIRDataset.load(directory: URL(fileURLWithPath: dataPath), split: split)
        for w in full.report.warnings { note("warning: \(w)") }
        let selection = MiningSelection(full, maxQueries: maxQueries, maxCorpus: maxCorpus, seed: UInt64(seed))
        guard !selection.queries.isEmpty else {
            throw CLIError("\(dataPath): no queries with a relevant document in split '\(split)'")
        }
        note("mining \(selection.queries.count) of \(full.queries.count) queries against \(selection.corpus.count) of \(full.corpus.count) documents")

        let queryTexts = selection.queries.map(\.text), docTexts = selection.corpus.map(\.embeddingText)
        let (qv, tQ) = try timed {
            try embedInBatches(queryTexts, label: "queries") { [try enc.embed($0, normalize: true)] }[0]
        }
        let (dv, tD) = try timed {
            try embedInBatches(docTexts, label: "corpus") { [try enc.embed($0, normalize: true)] }[0]
        }
        let index = FlatIndex(dimension: dv.cols)
        index.add(dv)
        let maxJudged = selection.queries.map { full.qrels[$0.id]?.count ?? 0 }.max() ?? 0
        let depth = min(selection.corpus.count, skipTop + negatives + maxJudged)
        let (hits, tS) = timed { index.search(qv, k: depth) }

        var lines: [String] = [], short = 0
        for (qi, q) in selection.queries.enumerated() {
            let judged = full.qrels[q.id] ?? [:]
            let negs = hits[qi].dropFirst(skipTop).map { selection.corpus[$0.index] }
                .filter { judged[$0.id] == nil }.prefix(negatives).map(\.embeddingText)
            if negs.count < negatives { short += 1; continue }
            for (did, rel) in judged.sorted(by: { $0.key < $1.key }) where rel > 0 {
                guard let doc = selection.documentsById[did] else { continue }
                lines.append(try jsonLine(["query": q.text, "positive": doc.embeddingText, "negatives": Array(negs)]))
            }
        }
        if short > 0 { note("warning: \(short) queries had fewer than \(negatives) negatives in the searched corpus; left out") }
        // Through OUT.partial (DurableFile: fsync, rename, directory fsync): OUT is whole or as it was.
        try writeFileAtomically(Data((lines.joined(separator: "\n") + (lines.isEmpty ? "" : "\n")).utf8), to: outPath)
        print(String(format: "wrote %ld lines to %@ (%ld queries, %ld documents searched, %ld negatives each, top %ld skipped); embed queries %.1f s, corpus %.1f s, search %.2f s",
                     lines.count, outPath, selection.queries.count - short, selection.corpus.count, negatives, skipTop, tQ, tD, tS))
    }
}

/// The queries and corpus `strata mine` searches: judged queries with a relevant document (a seeded
/// random sample when capped), and the corpus capped to every relevant document of those queries plus
/// a seeded random sample of the others. Both keep file order.
struct MiningSelection {
    let queries: [BEIRQuery]
    let corpus: [BEIRDocument]
    let documentsById: [String: BEIRDocument]

    init(_ ds: BEIRDataset, maxQueries: Int?, maxCorpus: Int?, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var qs = ds.queries.filter { (ds.qrels[$0.id] ?? [:]).values.contains { $0 > 0 } }
        if let maxQueries, qs.count > maxQueries {
            let keep = Set(Self.sample(qs.count, maxQueries, &rng))
            qs = qs.indices.filter { keep.contains($0) }.map { qs[$0] }
        }
        var docs = ds.corpus
        if let maxCorpus, docs.count > maxCorpus {
            var judged = Set<String>()
            for q in qs { for (did, _) in ds.qrels[q.id] ?? [:] { judged.insert(did) } }
            let others = docs.indices.filter { !judged.contains(docs[$0].id) }
            let room = max(0, maxCorpus - (docs.count - others.count))
            let keep = Set(Self.sample(others.count, min(room, others.count), &rng).map { others[$0] })
            docs = docs.indices.filter { judged.contains(docs[$0].id) || keep.contains($0) }.map { docs[$0] }
        }
        queries = qs
        corpus = docs
        documentsById = Dictionary(docs.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// `k` distinct indices of 0..<n: a partial Fisher-Yates shuffle driven by `rng`.
    static func sample(_ n: Int, _ k: Int, _ rng: inout SplitMix64) -> [Int] {
        var idx = Array(0..<n)
        for i in 0..<min(k, n) {
            let j = i + Int(rng.next() % UInt64(n - i))
            idx.swapAt(i, j)
        }
        return Array(idx.prefix(k))
    }
}
