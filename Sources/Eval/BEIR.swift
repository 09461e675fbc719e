import Foundation
import Formats

/// A corpus document of a BEIR dataset.
public struct BEIRDocument: Equatable, Sendable {
    public var id: String
    public var title: String
    public var text: String
    /// Whether the record had a "title" key (BEIR only joins when it does).
    public var hasTitle: Bool

    public init(id: String, title: String = "", text: String, hasTitle: Bool = true) {
        self.id = id; self.title = title; self.text = text; self.hasTitle = hasTitle
    }

    /// The text a model embeds: the one title+text rule of every record reader,
    /// `TextRecord.joined(title:text:)` (BEIR's `(title + " " + text).strip()`; an absent or empty
    /// title gives `text.strip()`, the same string).
    public var embeddingText: String { TextRecord.joined(title: hasTitle ? title : nil, text: text) }
}

/// A query of a BEIR dataset.
public struct BEIRQuery: Equatable, Sendable {
    public var id: String
    public var text: String
    public init(id: String, text: String) { self.id = id; self.text = text }
}

/// Relevance judgements: query id -> document id -> graded relevance (trec_eval's qrels).
public typealias Qrels = [String: [String: Int]]

/// What the loader found wrong but could carry on with.
public struct LoadReport: Sendable {
    /// Query ids in the qrels with no entry in queries.jsonl (sorted).
    public var unknownQueries: [String] = []
    /// (query id, document id) qrels rows whose document is not in corpus.jsonl.
    public var unknownDocuments: [(query: String, document: String)] = []

    public init() {}

    /// Human-readable warnings (counts plus up to 5 examples each); empty when all is well.
    public var warnings: [String] {
        var w: [String] = []
        if !unknownQueries.isEmpty {
            w.append("\(unknownQueries.count) qrels query id(s) not in queries.jsonl (left out of the evaluation), e.g. "
                     + unknownQueries.prefix(5).joined(separator: ", "))
        }
        if !unknownDocuments.isEmpty {
            w.append("\(unknownDocuments.count) qrels row(s) name a document not in corpus.jsonl (kept as relevant, so they cannot be retrieved), e.g. "
                     + unknownDocuments.prefix(5).map { "\($0.query)->\($0.document)" }.joined(separator: ", "))
        }
        return w
    }
}

/// A BEIR-format dataset: `corpus.jsonl` ({"_id", "title"?, "text"}), `queries.jsonl`
/// ({"_id", "text"}) and `qrels/<split>.tsv` (header `query-id corpus-id score`, tab-separated).
public struct BEIRDataset: Sendable {
    /// Every document, in file order.
    public var corpus: [BEIRDocument]
    /// The queries that have qrels in the split (as BEIR's loader keeps them), in queries.jsonl order.
    public var queries: [BEIRQuery]
    /// The split's judgements, unknown ids included (see `report`).
    public var qrels: Qrels
    public var report: LoadReport

    public init(corpus: [BEIRDocument], queries: [BEIRQuery], qrels: Qrels, report: LoadReport = LoadReport()) {
        self.corpus = corpus; self.queries = queries; self.qrels = qrels; self.report = report
    }

    /// Loads `directory` for `split` (train, dev or test). Malformed lines are errors naming the
    /// file and line; unknown ids in the qrels are collected in `report`.
    public static func load(directory: URL, split: String = "test") throws -> BEIRDataset {
        let corpus = try loadCorpus(directory.appendingPathComponent("corpus.jsonl"))
        let allQueries = try loadQueries(directory.appendingPathComponent("queries.jsonl"))
        let qrelsURL = directory.appendingPathComponent("qrels").appendingPathComponent("\(split).tsv")
        let qrels = try loadQrels(qrelsURL)
        var report = LoadReport()
        let docIds = Set(corpus.map(\.id))
        let queryIds = Set(allQueries.map(\.id))
        report.unknownQueries = qrels.keys.filter { !queryIds.contains($0) }.sorted()
        for qid in qrels.keys.sorted() {
            for did in qrels[qid]!.keys.sorted() where !docIds.contains(did) {
                report.unknownDocuments.append((qid, did))
            }
        }
        let queries = allQueries.filter { qrels[$0.id] != nil }
        return BEIRDataset(corpus: corpus, queries: queries, qrels: qrels, report: report)
    }

    /// Reads corpus.jsonl; a record needs "_id" and "text" ("title" optional); ids must be unique.
    public static func loadCorpus(_ url: URL) throws -> [BEIRDocument] {
        try loadRecords(url) { id, text, obj, n in
            let title = try stringField(obj, "title", file: url, line: n)
            return BEIRDocument(id: id, title: title ?? "", text: text, hasTitle: title != nil)
        }
    }

    /// Reads queries.jsonl; a record needs "_id" and "text"; ids must be unique.
    public static func loadQueries(_ url: URL) throws -> [BEIRQuery] {
        try loadRecords(url) { id, text, _, _ in BEIRQuery(id: id, text: text) }
    }

    /// The JSON-lines records of a BEIR file with their required "_id" and "text" (unique ids).
    private static func loadRecords<T>(_ url: URL, _ make: (String, String, [String: Any], Int) throws -> T) throws -> [T] {
        var out: [T] = []
        var seen = Set<String>()
        try forEachLine(of: url) { line, n in
            let obj = try jsonObject(line, file: url, line: n)
            guard let id = try stringField(obj, "_id", file: url, line: n) else {
                throw DataError(file: url.path, line: n, "missing \"_id\"")
            }
            guard let text = try stringField(obj, "text", file: url, line: n) else {
                throw DataError(file: url.path, line: n, "missing \"text\"")
            }
            guard seen.insert(id).inserted else { throw DataError(file: url.path, line: n, "duplicate _id \"\(id)\"") }
            out.append(try make(id, text, obj, n))
        }
        return out
    }

    /// Reads a qrels TSV: `query-id<TAB>corpus-id<TAB>score` rows after an optional header line
    /// (a first line whose score column is not an integer). A repeated (query, document) pair is an error.
    public static func loadQrels(_ url: URL) throws -> Qrels {
        var qrels: Qrels = [:]
        var first = true
        try forEachLine(of: url) { line, n in
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false)
            defer { first = false }
            if first, cols.count >= 3, Int(cols[2].trimmingCharacters(in: .whitespaces)) == nil { return }
            guard cols.count == 3 else {
                throw DataError(file: url.path, line: n, "expected 3 tab-separated columns (query-id, corpus-id, score), found \(cols.count)")
            }
            let qid = cols[0].trimmingCharacters(in: .whitespaces)
            let did = cols[1].trimmingCharacters(in: .whitespaces)
            guard !qid.isEmpty, !did.isEmpty else { throw DataError(file: url.path, line: n, "empty query or corpus id") }
            guard let score = Int(cols[2].trimmingCharacters(in: .whitespaces)) else {
                throw DataError(file: url.path, line: n, "score '\(cols[2])' is not an integer")
            }
            if qrels[qid]?[did] != nil {
                throw DataError(file: url.path, line: n, "duplicate judgement for query \(qid), document \(did)")
            }
            qrels[qid, default: [:]][did] = score
        }
        return qrels
    }
}
