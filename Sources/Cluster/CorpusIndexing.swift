import Foundation
import Formats
import Wire

/// Builds the corpus indexes of submitted jobs on a background queue, up to `maxConcurrent` at a
/// time (so one large corpus does not hold every other job's submission behind it; each indexing
/// holds at most one read block plus its longest line, `Formats.maxLineBytes`), and holds
/// the results until the coordinator's event loop takes them (it does at every turn, so within
/// one poll timeout): the loop never parses a corpus, and keeps serving heartbeats and queries.
final class CorpusIndexing: @unchecked Sendable {
    /// A finished indexing: the index, or why the job cannot run (a message naming file:line).
    struct Result: Sendable {
        let jobID: String
        let request: JobSubmitRequest
        let chunkSize: Int
        let index: TextRecordIndex?
        let problem: String
    }

    /// Corpora indexed at the same time, at most.
    static let maxConcurrent = 2

    private let queue = DispatchQueue(label: "strata.coordinator.corpus-index", qos: .utility, attributes: .concurrent)
    private let slots = DispatchSemaphore(value: CorpusIndexing.maxConcurrent)
    private let lock = NSLock()
    private var finished: [Result] = []
    /// Called on the indexing queue before each corpus is read (see `CoordinatorServer.init`).
    private let gate: (@Sendable (String) -> Void)?

    init(gate: (@Sendable (String) -> Void)? = nil) { self.gate = gate }

    /// Indexes `request`'s corpus and checks that it is not empty and that every chunk fits a frame.
    func start(jobID: String, request: JobSubmitRequest, chunkSize: Int) {
        queue.async { [self] in
            slots.wait()
            defer { slots.signal() }
            gate?(request.corpusPath)
            let r = Self.index(jobID: jobID, request: request, chunkSize: chunkSize)
            lock.lock(); finished.append(r); lock.unlock()
        }
    }

    /// The indexings finished since the last call, in the order they finished.
    func take() -> [Result] {
        lock.lock(); defer { lock.unlock() }
        let r = finished
        finished = []
        return r
    }

    static func index(jobID: String, request m: JobSubmitRequest, chunkSize: Int) -> Result {
        switch IndexedCorpus.read(m, chunkSize: chunkSize) {
        case .success(let c): return Result(jobID: jobID, request: m, chunkSize: chunkSize, index: c.index, problem: "")
        case .failure(let s): return Result(jobID: jobID, request: m, chunkSize: chunkSize, index: nil, problem: s.message)
        }
    }
}

/// The frame check of a job's corpus, by the shell (it reads the file).
extension Coordinator {
    /// `checkChunkFrames` for a corpus index: a chunk whose record bytes (an upper bound on its
    /// text bytes) fit is not parsed; only a chunk that may be over the limit is, to decide exactly.
    public static func checkChunkFrames(_ corpus: TextRecordIndex, chunkSize: Int, limit: Int = ProtocolConstants.maxFrameBytes) throws {
        for start in stride(from: 0, to: corpus.count, by: chunkSize) {
            let end = min(corpus.count, start + chunkSize)
            if corpus.byteCount(in: start..<end) + textOverhead * (end - start) + frameMargin > limit {
                try checkChunkFrame(try corpus.texts(in: start..<end)[...], first: start, chunkSize: chunkSize, limit: limit)
            }
        }
    }
}

extension IndexedCorpus {
    /// Indexes `request`'s corpus (reads the file) and checks that it is not empty and that every
    /// chunk fits a frame; a problem is INVALID_ARGUMENT naming the file (and line).
    public static func read(_ m: JobSubmitRequest, chunkSize: Int) -> Swift.Result<IndexedCorpus, RPCStatus> {
        func failed(_ problem: String) -> Swift.Result<IndexedCorpus, RPCStatus> { .failure(RPCStatus(.invalidArgument, problem)) }
        let index: TextRecordIndex
        do { index = try TextRecordIndex(path: m.corpusPath) } catch { return failed("\(error)") }
        guard index.count > 0 else { return failed("\(m.corpusPath): the corpus is empty") }
        do { try Coordinator.checkChunkFrames(index, chunkSize: chunkSize) } catch { return failed("\(m.corpusPath): \(error)") }
        return .success(IndexedCorpus(request: m, chunkSize: chunkSize, index: index))
    }
}
