import Foundation
import Formats
import Wire

/// Builds the corpus indexes of submitted jobs on a background queue, one at a time, and holds
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

    private let queue = DispatchQueue(label: "strata.coordinator.corpus-index", qos: .utility)
    private let lock = NSLock()
    private var finished: [Result] = []
    /// Called on the indexing queue before each corpus is read (see `CoordinatorServer.init`).
    private let gate: (@Sendable (String) -> Void)?

    init(gate: (@Sendable (String) -> Void)? = nil) { self.gate = gate }

    /// Indexes `request`'s corpus and checks that it is not empty and that every chunk fits a frame.
    func start(jobID: String, request: JobSubmitRequest, chunkSize: Int) {
        queue.async { [self] in
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
        func failed(_ problem: String) -> Result { Result(jobID: jobID, request: m, chunkSize: chunkSize, index: nil, problem: problem) }
        let index: TextRecordIndex
        do { index = try TextRecordIndex(path: m.corpusPath) } catch { return failed("\(error)") }
        guard index.count > 0 else { return failed("\(m.corpusPath): the corpus is empty") }
        do { try Coordinator.checkChunkFrames(index, chunkSize: chunkSize) } catch { return failed("\(m.corpusPath): \(error)") }
        return Result(jobID: jobID, request: m, chunkSize: chunkSize, index: index, problem: "")
    }
}
