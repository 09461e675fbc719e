import Foundation
import Kernels
import Model

/// `strata embed`: texts -> embeddings (.npy or .jsonl), DE or CE (self-pair), any layer.
enum EmbedCommand: Subcommand {
    static let name = "embed"
    static let summary = "embed texts with a dual or cross encoder (any layer) into .npy or .jsonl"
    static let usage = """
    usage: strata embed --model DIR --input FILE --output FILE [--layer K] [--pooling mean|cls|max]
                        [--normalize] [--batch N] [--threads N] [--precision fp32|bf16|int8]

      --model DIR      model directory (HF / sentence-transformers layout), a name in $STRATA_MODELS,
                       or a Hugging Face id in the local hub cache
      --input FILE     .txt (one text per line) or .jsonl ({"_id", "text"} with optional "title")
      --output FILE    .npy (float32 [n, dim], numpy.load) or .jsonl ({"_id", "embedding"})
      --layer K        embed from layer K (0 = embedding output .. N = last), mean pooling, not normalised;
                       default: the model's own final embedding
      --pooling MODE   override the pooling (mean, cls, max)
      --normalize      L2-normalise the embeddings
      --batch N        sequences per batch (default 32)
      --threads N      BLAS threads (default: all cores)
      --precision P    fp32 (default), bf16 or int8: the dense layers' weights are converted when loaded

    On a cross encoder each text is paired with itself ([CLS] s [SEP] s [SEP]) and the layer's hidden
    states are mean-pooled over the text tokens, leaving out padding and special tokens (the paper's method).
    """

    /// Texts are embedded in fixed chunks of this many, in input order; results do not depend on it.
    static let chunkSize = 4096

    static func run(_ args: [String]) throws {
        let a = try Arguments(args, command: name, options: ["model", "input", "output", "layer", "pooling", "batch", "threads", "precision"],
                              flags: ["normalize"])
        let output = try a.required("output")
        guard output.hasSuffix(".npy") || output.hasSuffix(".jsonl") else {
            throw CLIError("--output must end in .npy or .jsonl, got '\(output)'", usage: true)
        }
        var pooling: Pooling? = nil
        if let p = a.string("pooling") {
            guard let v = Pooling(rawValue: p) else { throw CLIError("--pooling must be mean, cls or max, got '\(p)'", usage: true) }
            pooling = v
        }
        let layer = try a.int("layer", min: 0)
        let input = try a.required("input")
        // Before anything is read: the output (or its temporary file) must not be the input.
        try refuseOutputOverInputs(output, flag: "output", inputs: [input])
        try checkCanWrite(output, flag: "output")
        try applyThreads(a)
        let encoder = try TextEncoder.load(try a.required("model"), precision: try PrecisionOption.parse(a))
        encoder.batchSize = try a.int("batch", default: 32, min: 1, max: 4096)!
        if let layer, layer > encoder.numLayers {
            throw CLIError("--layer \(layer) is out of range: the model has layers 0...\(encoder.numLayers)", usage: true)
        }
        // Two passes over the input: the first checks every line and counts the texts (so bad input
        // fails before any work and the .npy header knows its row count), the second streams them
        // through the encoder a chunk at a time; only one chunk of texts is held in memory.
        let total = try TextRecords.count(input)
        let normalize: Bool? = a.flag("normalize") ? true : nil
        let sink = try EmbeddingSink(path: output, rows: total, cols: encoder.dimension)
        defer { sink.discard() }
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

/// Streams embeddings to .npy (header first, rows appended) or .jsonl, via a temporary file
/// renamed into place at the end, so a failed run never leaves a partial output behind.
final class EmbeddingSink {
    let path: String
    let tmp: String
    let handle: FileHandle
    let npy: Bool

    init(path: String, rows: Int, cols: Int) throws {
        self.path = path
        tmp = path + ".partial"
        npy = path.hasSuffix(".npy")
        // A fresh file (a stale one from a killed run is replaced; O_EXCL never writes through a link).
        unlink(tmp)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CLIError("cannot write \(tmp): \(osReason())") }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        if npy {
            do { try handle.write(contentsOf: NumpyFile.header(rows: rows, cols: cols)) } catch {
                let reason = describeError(error)
                try? handle.close(); unlink(tmp)
                throw CLIError("cannot write \(tmp): \(reason)")
            }
        }
    }

    func append(_ m: Matrix, ids: [String]) throws {
        if npy {
            try writeOrExplain(m.data.withUnsafeBytes { Data($0) })
        } else {
            var s = ""
            for r in 0..<m.rows {
                let id = String(data: try JSONSerialization.data(withJSONObject: [ids[r]], options: [.fragmentsAllowed]), encoding: .utf8)!
                s += "{\"_id\":\(id.dropFirst().dropLast()),\"embedding\":[" + m.row(r).map { "\($0)" }.joined(separator: ",") + "]}\n"
            }
            try writeOrExplain(Data(s.utf8))
        }
    }

    /// FileHandle's throwing write, with the OS's reason in the error.
    private func writeOrExplain(_ d: Data) throws {
        do { try handle.write(contentsOf: d) } catch { throw CLIError("cannot write \(tmp): \(describeError(error))") }
    }

    private var closed = false

    func finish() throws {
        do { try handle.synchronize(); try handle.close() } catch { throw CLIError("cannot write \(tmp): \(describeError(error))") }
        closed = true
        if rename(tmp, path) != 0 { throw CLIError("cannot move \(tmp) to \(path): \(osReason())") }
    }

    /// Removes the temporary file of an unfinished run (no-op after `finish`).
    func discard() {
        guard !closed else { return }
        try? handle.close()
        closed = true
        try? FileManager.default.removeItem(atPath: tmp)
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
    if let t = try a.int("threads", min: 1, max: 256) { Parallelism.configureProcess(Parallelism(threads: t)) }
}
