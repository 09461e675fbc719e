import Foundation
import Formats
import Model
import CommandLineFlags

/// `strata score`: cross-encoder relevance scores of (query, passage) pairs.
enum ScoreCommand: Subcommand {
    static let spec = CommandSpec("score", summary: "score (query, passage) pairs with a cross encoder", flags: [
        .string("model", "CE_DIR", required: true, help: "the cross encoder (BertForSequenceClassification): a directory, a name in $STRATA_MODELS or a Hugging Face id in the local hub cache"),
        .path("input", "FILE", required: true, help: "TSV lines query<TAB>passage, or .jsonl lines {\"query\", \"passage\"}"),
        .path("output", "FILE", required: true, help: "one score per line, in input order (use - for standard output)"),
        .bool("sigmoid", help: "apply the sigmoid to the raw logit (sentence-transformers' predict())"),
        .int("batch", default: 32, min: 1, max: 4096, help: "pairs per batch"),
        CommonFlags.threads,
        CommonFlags.precision(),
    ])

    static func run(_ a: Arguments) throws {
        let input = a.value("input"), output = a.value("output")
        if output != "-" {
            try refuseOutputOverInputs(output, flag: "output", inputs: [input])
            try checkCanWrite(output, flag: "output")
        }
        try applyThreads(a)
        let precision = try PrecisionOption.parse(a)
        let pairs = try readPairs(input)
        let encoder = try TextEncoder.load(a.value("model"), precision: precision)
        guard encoder.kind == .crossEncoder else {
            throw CLIError("\(encoder.directory.path) is a dual encoder; `score` needs a cross encoder (BertForSequenceClassification)")
        }
        encoder.batchSize = a.int("batch")!
        let progress = Progress(total: pairs.count, label: "scored")
        let scores = try encoder.score(pairs, sigmoid: a.flag("sigmoid")) { n, _ in progress.update(n) }
        progress.finish()
        let text = scores.map { "\($0)" }.joined(separator: "\n") + (scores.isEmpty ? "" : "\n")
        if output == "-" { print(text, terminator: "") } else {
            try writeFileAtomically(Data(text.utf8), to: output)
        }
    }

    /// Reads TSV (query<TAB>passage) or jsonl ({"query","passage"}) pairs; errors name the line.
    static func readPairs(_ path: String) throws -> [(String, String)] {
        let url = URL(fileURLWithPath: path)
        guard access(path, R_OK) == 0 else { throw CLIError("cannot read input file \(path): \(osReason())") }
        var pairs: [(String, String)] = []
        try forEachLine(of: url) { line, n in
            if path.hasSuffix(".jsonl") {
                let o = try jsonObject(line, file: url, line: n)
                guard let q = o["query"] as? String, let p = o["passage"] as? String else {
                    throw DataError(file: path, line: n, "expected string fields \"query\" and \"passage\"")
                }
                pairs.append((q, p))
            } else {
                let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
                guard parts.count == 2 else {
                    throw DataError(file: path, line: n, "expected query<TAB>passage (found \(parts.count) tab-separated fields)")
                }
                pairs.append((String(parts[0]), String(parts[1])))
            }
        }
        return pairs
    }
}
