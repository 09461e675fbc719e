import Foundation
import XCTest

/// Every command's flag table as the built binary shows it: each flag a command accepted before the
/// tables existed is still accepted and documented in its `--help` (with a line of its own, not only
/// in the synopsis); unknown flags and malformed values are refused naming them; and every error
/// reads `strata COMMAND: problem`, the command named once.
final class CLIFlagTableTests: XCTestCase {
    /// One command: its flags (all it reads), its required flags, and a flag whose value is checked
    /// as an integer (or number) with the value to try.
    struct Case {
        let command: String
        let flags: [String]
        var required: [String] = []
        var badValue: (flag: String, kind: String)? = nil
    }

    static let training = ["train", "out", "epochs", "batch", "lr", "max-steps", "seed", "loss", "negatives", "max-length", "accumulation",
                           "warmup", "weight-decay", "checkpoint-every", "log-every", "threads", "dropout", "scale", "temperature"]
    static let clusterBench = ["model", "corpus", "queries", "docs", "nqueries", "workers", "shards", "top"]

    /// The command line surface. A flag added to a command must be added here too (and appears in its help).
    static let cases: [Case] = [
        Case(command: "embed", flags: ["model", "input", "output", "layer", "pooling", "batch", "threads", "precision", "normalize"],
             required: ["model", "input", "output"], badValue: ("batch", "integer")),
        Case(command: "score", flags: ["model", "input", "output", "batch", "threads", "precision", "sigmoid"],
             required: ["model", "input", "output"], badValue: ("batch", "integer")),
        Case(command: "eval", flags: ["model", "data", "layer", "rerank", "rerank-top", "split", "top", "run", "output", "batch", "cutoffs",
                                      "max-corpus", "max-queries", "precision"], required: ["model", "data"], badValue: ("top", "integer")),
        Case(command: "layers", flags: ["model", "data", "split", "out", "max-corpus", "max-queries", "batch", "name", "precision"],
             required: ["model", "data"], badValue: ("batch", "integer")),
        Case(command: "mine", flags: ["model", "data", "split", "out", "negatives", "max-queries", "max-corpus", "skip-top", "seed", "batch"],
             required: ["model", "data", "out"], badValue: ("negatives", "integer")),
        Case(command: "infuse", flags: training + ["ce", "de", "layers", "copy", "init", "eval-data", "eval-split", "eval-max-corpus",
                                                   "eval-max-queries", "symmetric"], required: ["ce", "train", "out"], badValue: ("epochs", "integer")),
        Case(command: "train-ce", flags: training + ["init", "layers", "eval-data", "eval-de", "eval-split", "eval-top", "eval-max-corpus",
                                                     "eval-max-queries", "from-scratch"], required: ["init", "train", "out"], badValue: ("max-steps", "integer")),
        Case(command: "data debian-packages", flags: ["out", "lists"], required: ["out"]),
        Case(command: "search", flags: ["coordinator", "top", "rerank-top", "keys", "timeout", "input", "run", "rerank"],
             required: ["coordinator"], badValue: ("top", "integer")),
        Case(command: "job embed", flags: ["coordinator", "corpus", "model", "out", "chunk-size", "keys", "timeout"],
             required: ["coordinator", "corpus", "model", "out"], badValue: ("chunk-size", "integer")),
        Case(command: "job status", flags: ["coordinator", "keys", "timeout"], required: ["coordinator"], badValue: ("timeout", "number")),
        Case(command: "job cancel", flags: ["coordinator", "keys", "timeout"], required: ["coordinator"], badValue: ("timeout", "number")),
        Case(command: "keys gen", flags: ["out", "force"], required: ["out"]),
        Case(command: "worker", flags: ["coordinator", "data-dir", "keys", "id", "max-batch-tokens", "drain-timeout", "precision", "compute-nice", "quiet"],
             required: ["coordinator"], badValue: ("max-batch-tokens", "integer")),
        Case(command: "coordinator", flags: ["bind", "data-dir", "corpus", "model", "ce", "shards", "replication", "keys", "endpoint-file", "settle",
                                             "jobs-root", "max-top-k", "max-rerank", "retrieval-layer", "http", "http-endpoint-file",
                                             "max-client-batch", "max-body-bytes", "max-concurrent-requests", "grace", "quiet", "auto-truncate",
                                             "query-embedding", "query-cache", "precision", "http-max-connections", "http-max-connections-per-ip", "http-idle-timeout"],
             required: ["data-dir"], badValue: ("shards", "integer")),
        Case(command: "cluster up", flags: ["workers", "corpus", "model", "ce", "bind", "replication", "shards", "data-dir", "keys", "jobs-root",
                                            "max-top-k", "max-rerank", "retrieval-layer", "precision", "http", "max-client-batch",
                                            "max-body-bytes", "max-concurrent-requests", "grace", "auto-truncate", "query-embedding", "query-cache", "compute-nice",
                                            "http-max-connections", "http-max-connections-per-ip", "http-idle-timeout"],
             required: ["corpus", "model"], badValue: ("workers", "integer")),
        Case(command: "cluster status", flags: ["coordinator", "keys", "timeout"], required: ["coordinator"], badValue: ("timeout", "number")),
        Case(command: "cluster bench", flags: clusterBench, required: ["corpus"], badValue: ("docs", "integer")),
        Case(command: "bench cluster", flags: clusterBench, required: ["corpus"], badValue: ("nqueries", "integer")),
        Case(command: "bench encoder", flags: ["model", "seq", "batch", "layers", "seconds", "threads", "precision"], badValue: ("seq", "integer")),
        Case(command: "bench kernels", flags: ["seconds"], badValue: ("seconds", "number")),
        Case(command: "bench gemm", flags: ["m", "seconds", "threads"], badValue: ("m", "integer")),
        Case(command: "bench search", flags: ["n", "dim", "k", "batches", "seconds", "naive-queries", "seed"], badValue: ("n", "integer")),
        Case(command: "bench train", flags: ["layers", "seq", "batch", "steps", "hidden", "heads", "intermediate", "threads"],
             badValue: ("steps", "integer")),
    ]

    private func words(_ command: String) -> [String] { command.split(separator: " ").map(String.init) }

    /// The flags that have an entry line (`  --name ...`) in a help text.
    private func documentedFlags(_ help: String) -> Set<String> {
        var names = Set<String>()
        for line in help.split(separator: "\n") where line.hasPrefix("  --") {
            names.insert(String(line.dropFirst(4).prefix { $0 != " " }))
        }
        return names
    }

    /// A failed run's stderr names the command once, at the start, and says the problem once.
    private func assertOneError(_ r: CLI.Result, _ command: String, status: Int32 = 2, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, r.stderr, file: file, line: line)
        let prefix = "strata \(command): "
        XCTAssertTrue(r.stderr.hasPrefix(prefix), "stderr should start with '\(prefix)': \(r.stderr)", file: file, line: line)
        XCTAssertEqual(r.stderr.components(separatedBy: "strata ").count - 1, 1 + r.stderr.components(separatedBy: "`strata ").count - 1,
                       "the command is named once (besides a `strata ... --help` hint): \(r.stderr)", file: file, line: line)
        let rest = r.stderr.dropFirst(prefix.count)
        for w in words(command) {
            XCTAssertFalse(rest.hasPrefix(w + ":") || rest.hasPrefix(w + " "), "doubled command name: \(r.stderr)", file: file, line: line)
        }
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)", file: file, line: line)
    }

    func testEveryFlagOfEveryCommandIsDocumentedInItsHelp() throws {
        for c in Self.cases {
            let r = try CLI.run(words(c.command) + ["--help"])
            XCTAssertEqual(r.status, 0, "\(c.command): \(r.stderr)")
            XCTAssertTrue(r.stdout.hasPrefix("usage: strata \(c.command)"), r.stdout)
            XCTAssertEqual(documentedFlags(r.stdout), Set(c.flags),
                           "strata \(c.command) --help documents exactly the flags it accepts:\n\(r.stdout)")
            for f in c.flags { XCTAssertTrue(r.stdout.contains("--\(f)"), "\(c.command): --\(f)") }
            for f in c.required {
                let entry = r.stdout.split(separator: "\n").drop { !$0.hasPrefix("  --\(f) ") && $0 != "  --\(f)" }
                    .prefix { !$0.hasPrefix("  --") || $0.hasPrefix("  --\(f)") }.joined(separator: " ")
                XCTAssertTrue(entry.contains("(required)"), "\(c.command): --\(f) is marked required: \(entry)")
            }
            let viaHelp = try CLI.run(["help"] + words(c.command))
            XCTAssertEqual(viaHelp.status, 0)
            XCTAssertEqual(viaHelp.stdout, r.stdout, "`strata help \(c.command)` is `strata \(c.command) --help`")
        }
    }

    /// `cluster up` runs its workers at --compute-nice 19 unless told otherwise (they share the
    /// machine with the coordinator's query encoder); `strata worker` alone keeps 0.
    func testComputeNiceDefaultsTo19ForClusterUpAnd0ForAWorker() throws {
        for (command, expected) in [("cluster up", "19"), ("worker", "0")] {
            let r = try CLI.run(words(command) + ["--help"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let entry = r.stdout.split(separator: "\n").drop { !$0.hasPrefix("  --compute-nice ") }
                .prefix { !$0.hasPrefix("  --") || $0.hasPrefix("  --compute-nice") }
                .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            XCTAssertTrue(entry.hasSuffix("(default \(expected))"), "strata \(command): \(entry)")
        }
    }

    /// Resubmitting a job follows it only while its corpus is unchanged: the help says so.
    func testJobEmbedHelpSaysAResubmissionWithAChangedCorpusIsRefused() throws {
        let r = try CLI.run(["job", "embed", "--help"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        XCTAssertTrue(text.contains("Submitting the same job again follows the existing one while its corpus is unchanged (else refused: choose another --out)."), r.stdout)
    }

    func testTheFlagsOnceUndocumentedAreDocumented() throws {
        for (command, flags) in [("infuse", ["dropout", "scale", "temperature"]), ("train-ce", ["dropout", "scale", "temperature", "log-every"]),
                                 ("cluster status", ["timeout"]), ("job status", ["timeout"]), ("bench cluster", ["shards", "top"]),
                                 ("bench train", ["layers", "seq", "batch", "steps", "hidden", "heads", "intermediate", "threads"])] {
            let help = try CLI.run(words(command) + ["--help"]).stdout
            for f in flags { XCTAssertTrue(documentedFlags(help).contains(f), "strata \(command) documents --\(f):\n\(help)") }
        }
        let help = try CLI.run(["infuse", "--help"]).stdout
        XCTAssertTrue(help.contains("(default 0.1)") && help.contains("(default 20)"), help)
    }

    func testUnknownFlagsAreRefusedNamingThemOnce() throws {
        for c in Self.cases {
            let r = try CLI.run(words(c.command) + ["--no-such-flag", "1"])
            assertOneError(r, c.command)
            XCTAssertTrue(r.stderr.contains("unknown flag --no-such-flag"), r.stderr)
            XCTAssertTrue(r.stderr.contains("`strata \(c.command) --help`"), r.stderr)
        }
        // A near miss gets a suggestion.
        let r = try CLI.run(["embed", "--bacth", "3"])
        assertOneError(r, "embed")
        XCTAssertTrue(r.stderr.contains("unknown flag --bacth (did you mean --batch?)"), r.stderr)
    }

    func testMalformedValuesNameTheFlagAndTheValue() throws {
        for c in Self.cases {
            guard let bad = c.badValue else { continue }
            let r = try CLI.run(words(c.command) + ["--\(bad.flag)", "x1"])
            assertOneError(r, c.command)
            XCTAssertTrue(r.stderr.contains("--\(bad.flag) must be a\(bad.kind == "integer" ? "n" : "") \(bad.kind)"), r.stderr)
            XCTAssertTrue(r.stderr.contains("got 'x1'"), r.stderr)
        }
        var r = try CLI.run(["embed", "--batch", "0"])
        assertOneError(r, "embed")
        XCTAssertTrue(r.stderr.contains("--batch must be an integer in 1...4096, got '0'"), r.stderr)
        r = try CLI.run(["infuse", "--dropout", "1"])
        assertOneError(r, "infuse")
        XCTAssertTrue(r.stderr.contains("--dropout must be in [0, 1), got '1'"), r.stderr)
        r = try CLI.run(["embed", "--pooling", "sum"])
        assertOneError(r, "embed")
        XCTAssertTrue(r.stderr.contains("--pooling must be mean, cls or max, got 'sum'"), r.stderr)
        r = try CLI.run(["eval", "--cutoffs", "1,x"])
        assertOneError(r, "eval")
        XCTAssertTrue(r.stderr.contains("--cutoffs must be a comma-separated list"), r.stderr)
        r = try CLI.run(["embed", "--model"])
        assertOneError(r, "embed")
        XCTAssertTrue(r.stderr.contains("--model needs a value"), r.stderr)
    }

    func testMissingRequiredFlagsAreNamed() throws {
        for c in Self.cases {
            guard let first = c.required.first else { continue }
            let r = try CLI.run(words(c.command))
            assertOneError(r, c.command)
            XCTAssertTrue(r.stderr.contains("missing required flag --\(first)"), r.stderr)
        }
        let r = try CLI.run(["job", "status", "--coordinator", "tcp://127.0.0.1:1"])
        assertOneError(r, "job status")
        XCTAssertTrue(r.stderr.contains("missing JOB_ID"), r.stderr)
    }

    /// Errors raised by the commands themselves (not the parser) also name the command once: they
    /// used to read `strata bench train: bench train: ...` or `strata eval: eval: ...`.
    func testCommandErrorsAreNotDoubled() throws {
        let tmp = try CLI.tempDir()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let missing = tmp.appendingPathComponent("missing").path
        let runs: [(String, [String], Int32, String)] = [
            ("bench train", ["--hidden", "100", "--heads", "12"], 2, "--hidden 100 is not divisible by --heads 12"),
            ("eval", ["--model", "m", "--data", missing, "--run", tmp.appendingPathComponent("r").path,
                      "--output", tmp.appendingPathComponent("r").path], 2, "--run and --output are the same file"),
            ("eval", ["--model", "m", "--data", missing, "stray"], 2, "unexpected argument 'stray'"),
            ("layers", ["--model", "m", "--data", missing], 1, missing),
            ("data debian-packages", ["--out", tmp.appendingPathComponent("d").path, "--lists", missing], 1, missing),
            ("job status", ["--coordinator", "tcp://127.0.0.1:1", "--timeout", "0.2", "JOB"], 1, "no reply"),
            ("search", ["--coordinator", "tcp://127.0.0.1:1", "one", "two"], 2, "give one query"),
            ("embed", ["--model", "m", "--input", "a.txt", "--output", "b.txt"], 2, "--output must end in .npy or .jsonl"),
            ("infuse", ["--ce", CLI.modelFixtures.appendingPathComponent("tiny-ce").path, "--train", "t", "--out", "o", "--init", "de"], 2, "--init de needs --de DE_DIR"),
        ]
        for (command, args, status, message) in runs {
            let r = try CLI.run(words(command) + args)
            assertOneError(r, command, status: status)
            XCTAssertTrue(r.stderr.contains(message), "\(command): \(r.stderr)")
        }
    }

    func testGroupsAndTopLevel() throws {
        var r = try CLI.run(["job"])
        assertOneError(r, "job")
        XCTAssertTrue(r.stderr.contains("name an action: embed, status, cancel"), r.stderr)
        r = try CLI.run(["job", "stauts"])
        assertOneError(r, "job")
        XCTAssertTrue(r.stderr.contains("unknown action 'stauts'") && r.stderr.contains("did you mean 'status'?"), r.stderr)
        for group in ["job", "cluster", "bench", "keys", "data"] {
            r = try CLI.run([group, "--help"])
            XCTAssertEqual(r.status, 0)
            XCTAssertTrue(r.stdout.hasPrefix("usage: strata \(group) "), r.stdout)
            XCTAssertEqual(try CLI.run(["help", group]).stdout, r.stdout)
            for c in Self.cases where c.command.hasPrefix(group + " ") {
                XCTAssertTrue(r.stdout.contains("strata \(c.command)"), "\(group) --help lists \(c.command)")
            }
        }
        r = try CLI.run(["--help"])
        XCTAssertEqual(r.status, 0)
        for c in Self.cases { XCTAssertTrue(r.stdout.contains("  " + words(c.command)[0] + " "), "\(c.command) listed:\n\(r.stdout)") }
        r = try CLI.run(["help", "nosuch"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("strata help: unknown command 'nosuch'"), r.stderr)
        r = try CLI.run(["embd"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.hasPrefix("strata: unknown command 'embd' (did you mean 'embed'?)"), r.stderr)
    }
}
