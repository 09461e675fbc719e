import Foundation
import Formats

/// A batch job's append-only journal, one record a line, fsync'd after each append:
///   `job <jobID>\t<corpus>\t<model>\t<outDir>\t<chunkSize>\t<docCount>\t<chunkCount>`
///   `done <chunk>\t<rows>\t<crc32 hex of the chunk file>`
///   `finished`
///   `failed <error>` (the job failed or was cancelled: it is not resumed; one line, capped)
/// Replay is pure (`JobJournal.replay`); a torn last line (crash mid-append) is ignored.
public struct JobJournal: Equatable, Sendable {
    public struct Spec: Equatable, Sendable {
        public var jobID: String, corpusPath: String, model: String, outDir: String
        public var chunkSize: Int, docCount: Int, chunkCount: Int
        public init(jobID: String, corpusPath: String, model: String, outDir: String, chunkSize: Int, docCount: Int, chunkCount: Int) {
            self.jobID = jobID; self.corpusPath = corpusPath; self.model = model; self.outDir = outDir
            self.chunkSize = chunkSize; self.docCount = docCount; self.chunkCount = chunkCount
        }
    }
    public var spec: Spec
    /// chunk -> (rows, crc32)
    public var done: [Int: (rows: Int, crc: UInt32)]
    public var finished: Bool
    /// Why the job failed (nil: it did not).
    public var failed: String? = nil

    public static func == (a: JobJournal, b: JobJournal) -> Bool {
        a.spec == b.spec && a.finished == b.finished && a.failed == b.failed && a.done.keys == b.done.keys
            && a.done.allSatisfy { b.done[$0.key]?.rows == $0.value.rows && b.done[$0.key]?.crc == $0.value.crc }
    }

    public static func specLine(_ s: Spec) -> String {
        "job \(s.jobID)\t\(s.corpusPath)\t\(s.model)\t\(s.outDir)\t\(s.chunkSize)\t\(s.docCount)\t\(s.chunkCount)\n"
    }
    public static func doneLine(chunk: Int, rows: Int, crc: UInt32) -> String { "done \(chunk)\t\(rows)\t\(String(crc, radix: 16))\n" }
    public static let finishedLine = "finished\n"
    public static func failedLine(_ error: String) -> String { "failed \(LogLine.oneLine(error))\n" }

    /// Rebuilds a job's state from its journal text. Returns nil when there is no valid spec line.
    public static func replay(_ text: String) -> JobJournal? { try? parse(text) }

    /// The most documents a journal may claim (a bound far above any corpus, below any overflow).
    static let maxDocCount = 1 << 40

    /// Why a spec is impossible (a corrupt or forged journal), or nil: chunk size 1...2^20, document
    /// count 0...2^40, and the chunk count the one they give. Replay trusts nothing else, so a bad
    /// journal can never make the coordinator allocate or loop by a count it holds.
    static func problem(_ s: Spec) -> String? {
        guard (1...(1 << 20)).contains(s.chunkSize) else { return "chunk size \(s.chunkSize) is not in 1...\(1 << 20)" }
        guard (0...maxDocCount).contains(s.docCount) else { return "document count \(s.docCount) is not in 0...\(maxDocCount)" }
        let chunks = (s.docCount + s.chunkSize - 1) / s.chunkSize
        guard s.chunkCount == chunks else { return "chunk count \(s.chunkCount) is not the \(chunks) that \(s.docCount) documents in chunks of \(s.chunkSize) make" }
        guard !s.jobID.isEmpty, !s.corpusPath.isEmpty, !s.outDir.isEmpty else { return "an empty job id, corpus or output directory" }
        return nil
    }

    /// `replay`, throwing the reason a journal cannot be replayed: no spec line, a malformed one, or
    /// one whose numbers are impossible (`problem`). Malformed `done` lines and done lines of chunks
    /// out of range or with more rows than a chunk holds are ignored (that chunk is redone).
    public static func parse(_ text: String) throws -> JobJournal {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // Only newline-terminated lines are complete records.
        if !text.hasSuffix("\n") { lines.removeLast() } else if lines.last == "" { lines.removeLast() }
        guard let first = lines.first, first.hasPrefix("job ") else { throw ClusterError("journal has no `job` line first") }
        let f = first.dropFirst(4).split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 7, let cs = Int(f[4]), let dc = Int(f[5]), let cc = Int(f[6]) else { throw ClusterError("journal's `job` line is malformed") }
        let spec = Spec(jobID: f[0], corpusPath: f[1], model: f[2], outDir: f[3], chunkSize: cs, docCount: dc, chunkCount: cc)
        if let p = problem(spec) { throw ClusterError("journal's `job` line is impossible: \(p)") }
        var j = JobJournal(spec: spec, done: [:], finished: false)
        for line in lines.dropFirst() {
            if line == "finished" { j.finished = true; continue }
            if line.hasPrefix("failed ") { j.failed = String(line.dropFirst(7)); continue }
            guard line.hasPrefix("done ") else { continue }
            let p = line.dropFirst(5).split(separator: "\t").map(String.init)
            guard p.count == 3, let c = Int(p[0]), let r = Int(p[1]), let crc = UInt32(p[2], radix: 16), c >= 0, c < cc, r >= 0, r <= cs else { continue }
            j.done[c] = (r, crc)
        }
        return j
    }

    /// Appends `line` to the journal at `url` and fsyncs it (`DurableFile.append`; a new journal's
    /// directory is created and fsync'd too).
    public static func append(_ line: String, to url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        try DurableFile.append(Data(line.utf8), to: url.path)
    }
}
