import Foundation
import Kernels
import Eval

/// Wall-clock seconds of `body`.
func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let t0 = DispatchTime.now().uptimeNanoseconds
    let r = try body()
    return (r, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
}

/// Runs `embed` over `texts` in chunks of `chunk` texts (large, so the encoder's length-sorted
/// batching inside a call keeps padding small), printing progress on stderr, and stacks the
/// results: one matrix per returned layer, each [texts.count, dim].
func embedInBatches(_ texts: [String], chunk batch: Int = 1024, label: String,
                    _ embed: ([String]) throws -> [Matrix]) throws -> [Matrix] {
    var out: [Matrix] = []
    var start = 0
    let progress = Progress(total: texts.count, label: "  \(label):")
    while start < texts.count {
        let chunk = Array(texts[start..<min(start + batch, texts.count)])
        let got = try embed(chunk)
        if out.isEmpty { out = got.map { Matrix(rows: texts.count, cols: $0.cols) } }
        for (l, m) in got.enumerated() {
            precondition(m.rows == chunk.count, "embed returned \(m.rows) rows for \(chunk.count) texts")
            out[l].data.replaceSubrange((start * m.cols)..<((start + chunk.count) * m.cols), with: m.data)
        }
        start += chunk.count
        progress.update(start)
    }
    progress.finish()
    return out
}

/// Loads a BEIR dataset, printing the loader's warnings on stderr.
func loadDataset(_ path: String, split: String, maxCorpus: Int?, maxQueries: Int?) throws -> BEIRDataset {
    let full = try BEIRDataset.load(directory: URL(fileURLWithPath: path), split: split)
    for w in full.report.warnings { note("warning: \(w)") }
    let ds = full.subsampled(maxCorpus: maxCorpus, maxQueries: maxQueries)
    if ds.corpus.count != full.corpus.count || ds.queries.count != full.queries.count {
        note("subsampled: \(ds.queries.count) of \(full.queries.count) queries, \(ds.corpus.count) of \(full.corpus.count) documents (every judged document kept)")
    }
    guard !ds.queries.isEmpty else { throw CLIError("\(path): no queries with judgements in split '\(split)'") }
    guard !ds.corpus.isEmpty else { throw CLIError("\(path): empty corpus") }
    return ds
}

/// Writes `text` to `path` durably and whole (`writeFileAtomically`: `path.partial`, fsync, rename);
/// an error names the file and gives the OS's reason.
func writeText(_ text: String, to path: String) throws {
    try writeFileAtomically(Data(text.utf8), to: path)
}
