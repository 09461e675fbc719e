import Foundation
import Formats
import Model

/// `strata score`: cross-encoder relevance scores of (query, passage) pairs.
enum ScoreCommand: Subcommand {
    static let name = "score"
    static let summary = "score (query, passage) pairs with a cross encoder"
    static let usage = """
    usage: strata score --model CE_DIR --input FILE --output FILE [--sigmoid] [--batch N] [--threads N]
                       [--precision fp32|bf16|int8]

      --input FILE    TSV lines query<TAB>passage, or .jsonl lines {"query", "passage"}
      --output FILE   one score per line, in input order (use - for standard output)
      --sigmoid       apply the sigmoid to the raw logit (sentence-transformers' predict())
    """

    static func run(_ args: [String]) throws {
        let a = try Arguments(args, command: name, options: ["model", "input", "output", "batch", "threads", "precision"], flags: ["sigmoid"])
        let input = try a.required("input"), output = try a.required("output")
        if output != "-" {
            try refuseOutputOverInputs(output, flag: "output", inputs: [input])
            try checkCanWrite(output, flag: "output")
        }
        try applyThreads(a)
        let precision = try PrecisionOption.parse(a)
        let pairs = try readPairs(input)
        let encoder = try TextEncoder.load(try a.required("model"), precision: precision)
        guard encoder.kind == .crossEncoder else {
            throw CLIError("\(encoder.directory.path) is a dual encoder; `score` needs a cross encoder (BertForSequenceClassification)")
        }
        encoder.batchSize = try a.int("batch", default: 32, min: 1, max: 4096)!
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
