import Foundation
import Formats
import Kernels
import Model
import CommandLineFlags

/// `strata embed`: texts -> embeddings (.npy or .jsonl), DE or CE (self-pair), any layer.
enum EmbedCommand: Subcommand {
    static let spec = CommandSpec("embed", summary: "embed texts with a dual or cross encoder (any layer) into .npy or .jsonl", flags: [
        .string("model", "DIR", required: true, help: "model directory (HF / sentence-transformers layout), a name in $STRATA_MODELS, or a Hugging Face id in the local hub cache"),
        .path("input", "FILE", required: true, help: ".txt (one text per line) or .jsonl ({\"_id\", \"text\"} with optional \"title\")"),
        .path("output", "FILE", required: true, help: ".npy (float32 [n, dim], numpy.load) or .jsonl ({\"_id\", \"embedding\"})"),
        .int("layer", "K", defaultNote: "the model's own final embedding", min: 0,
             help: "embed from layer K (0 = embedding output .. N = last), mean pooling, not normalised"),
        .choice("pooling", ["mean", "cls", "max"], help: "override the pooling"),
        .bool("normalize", help: "L2-normalise the embeddings"),
        .int("batch", default: 32, min: 1, max: 4096, help: "sequences per batch"),
        CommonFlags.threads,
        CommonFlags.precision(),
    ], details: """
    On a cross encoder each text is paired with itself ([CLS] s [SEP] s [SEP]) and the layer's hidden
    states are mean-pooled over the text tokens, leaving out padding and special tokens (the paper's method).
    """)

    /// Texts are embedded in fixed chunks of this many, in input order; results do not depend on it.
    static let chunkSize = 4096

    static func run(_ a: Arguments) throws {
        let output = a.value("output")
        guard output.hasSuffix(".npy") || output.hasSuffix(".jsonl") else {
            throw CLIError("--output must end in .npy or .jsonl, got '\(output)'", usage: true)
        }
        let pooling = a.string("pooling").map { Pooling(rawValue: $0)! }
        let layer = a.int("layer")
        let input = a.value("input")
        // Before anything is read: the output (or its temporary file) must not be the input.
        try refuseOutputOverInputs(output, flag: "output", inputs: [input])
        try checkCanWrite(output, flag: "output")
        try requireRereadable(input, flag: "input")
        try applyThreads(a)
        let encoder = try TextEncoder.load(a.value("model"), precision: try PrecisionOption.parse(a))
        encoder.batchSize = a.int("batch")!
        if let layer, layer > encoder.numLayers {
            throw CLIError("--layer \(layer) is out of range: the model has layers 0...\(encoder.numLayers)", usage: true)
        }
        // Two passes over the input: the first checks every line and counts the texts (so bad input
        // fails before any work and the .npy header knows its row count), the second streams them
        // through the encoder a chunk at a time; only one chunk of texts is held in memory.
        let total = try TextRecords.count(input)
        let normalize: Bool? = a.flag("normalize") ? true : nil
        // Installed before the temporary file exists, so no signal finds it there unhandled.
        removeOnStopSignals(EmbeddingSink.temporaryPath(output))
        let sink = try EmbeddingSink(path: output, rows: total, cols: encoder.dimension)
        defer { sink.discard() }
        precondition(sink.temporaryPath == EmbeddingSink.temporaryPath(output))
        let progress = Progress(total: total, label: "embedded")
        var done = 0
        var chunk: [TextRecord] = []
        chunk.reserveCapacity(chunkSize)
        func flush() throws {
            guard !chunk.isEmpty else { return }
            let m = try encoder.embed(chunk.map(\.text), layer: layer, pooling: pooling, normalize: normalize) { n, _ in
                progress.update(done + n)
            }
            try sink.append(m, ids: chunk.map(\.id))
            done += chunk.count
            chunk.removeAll(keepingCapacity: true)
        }
        try TextRecords.forEach(input) { record in
            chunk.append(record)
            if chunk.count == chunkSize { try flush() }
        }
        try flush()
        guard done == total else { throw CLIError("\(input) changed while it was being read (\(total) texts, then \(done))") }
        try sink.finish()
        progress.finish()
    }
}

/// Streams embeddings to .npy (`NumpyWriter`: the writer cluster jobs use, header first, rows
/// appended) or .jsonl (`DurableFile`), via `path.partial` renamed into place at the end, so a
/// failed run never leaves a partial output behind.
final class EmbeddingSink {
    private let npy: NumpyWriter?
    private let jsonl: DurableFile?

    init(path: String, rows: Int, cols: Int) throws {
        if path.hasSuffix(".npy") {
            npy = try NumpyWriter(path: path, rows: rows, cols: cols); jsonl = nil
        } else {
            jsonl = try DurableFile(path: path); npy = nil
        }
    }

    func append(_ m: Matrix, ids: [String]) throws {
        if let npy { return try npy.append(m.data) }
        var s = ""
        for r in 0..<m.rows {
            let id = String(data: try JSONSerialization.data(withJSONObject: [ids[r]], options: [.fragmentsAllowed]), encoding: .utf8)!
            s += "{\"_id\":\(id.dropFirst().dropLast()),\"embedding\":[" + m.row(r).map { "\($0)" }.joined(separator: ",") + "]}\n"
        }
        try jsonl?.write(Data(s.utf8))
    }

    /// The temporary file the output is written to until `finish` renames it into place.
    var temporaryPath: String { npy?.temporaryPath ?? jsonl!.temporaryPath }

    /// `temporaryPath` of a sink for `path` (the writers' default), known before the sink exists.
    static func temporaryPath(_ path: String) -> String { path + ".partial" }

    func finish() throws {
        if let npy { try npy.finish() } else { try jsonl?.commit() }
    }

    /// Removes the temporary file of an unfinished run (no-op after `finish`).
    func discard() {
        npy?.discard(); jsonl?.discard()
    }
}

/// Progress on stderr for long work: count, rate and ETA, at most a few lines per second.
final class Progress {
    let total: Int
    let label: String
    let start = Date()
    var last = Date.distantPast
    let enabled: Bool

    init(total: Int, label: String) {
        self.total = total; self.label = label
        enabled = total >= 256
    }

    func update(_ done: Int) {
        guard enabled, Date().timeIntervalSince(last) > 0.5 || done == total else { return }
        last = Date()
        let el = Date().timeIntervalSince(start)
        let rate = Double(done) / max(el, 1e-9)
        let eta = rate > 0 ? Double(total - done) / rate : 0
        note(String(format: "%@ %d/%d (%.0f/s, ETA %.0fs)", label, done, total, rate, eta))
    }

    func finish() {
        guard enabled else { return }
        let el = Date().timeIntervalSince(start)
        note(String(format: "%@ %d in %.1fs (%.0f/s)", label, total, el, Double(total) / max(el, 1e-9)))
    }
}

/// `--threads N` sets the process Parallelism (engine, training, search and OpenBLAS threads).
func applyThreads(_ a: Arguments) throws {
    if let t = a.int("threads") { Parallelism.configureProcess(Parallelism(threads: t)) }
}

/// The file a stop signal removes before the process dies (strdup'd once; read by the handler only).
nonisolated(unsafe) private var fileToRemoveOnStop: UnsafeMutablePointer<CChar>? = nil

/// On SIGTERM, SIGINT or SIGHUP, removes `path` (unlink: async-signal-safe) and then dies of the
/// signal as before, so a stopped `embed` leaves no `OUT.partial` behind.
func removeOnStopSignals(_ path: String) {
    fileToRemoveOnStop = strdup(path)
    for sig in [SIGTERM, SIGINT, SIGHUP] {
        signal(sig) { s in
            if let p = fileToRemoveOnStop { unlink(p) }
            signal(s, SIG_DFL)
            raise(s)
        }
    }
}
