/// Chunk leasing for one batch job. Pure: time comes in as arguments.
/// Each chunk is pending, leased to one worker until a deadline, or done. A chunk whose
/// worker dies or whose lease expires goes back to pending; a late or repeated completion of a
/// done chunk is ignored, so nothing is lost and nothing is written twice.
public struct JobScheduler: Sendable {
    public let chunkCount: Int
    public private(set) var done: Set<Int>
    public private(set) var leases: [Int: (worker: Peer, expires: Double)] = [:]
    private var pending: [Int]   // ascending; the next chunk handed out is the smallest ready one
    /// Failures per chunk: a failed chunk is not leased again before its back-off has passed.
    public private(set) var failures: [Int: RetryState] = [:]
    public let leaseSeconds: Double

    public init(chunkCount: Int, alreadyDone: Set<Int> = [], leaseSeconds: Double = ProtocolConstants.chunkLease) {
        self.chunkCount = chunkCount
        done = alreadyDone
        pending = (0..<chunkCount).filter { !alreadyDone.contains($0) }
        self.leaseSeconds = leaseSeconds
    }

    public var finished: Bool { done.count == chunkCount }

    /// Chunks currently leased to `worker`.
    public func leased(to worker: Peer) -> [Int] { leases.filter { $0.value.worker == worker }.map(\.key).sorted() }

    /// Leases the next pending chunk to `worker` (skipping chunks waiting out a failure's
    /// back-off), or nil when none is ready.
    public mutating func lease(to worker: Peer, now: Double) -> Int? {
        guard let i = pending.firstIndex(where: { (failures[$0]?.nextTry ?? 0) <= now }) else { return nil }
        let c = pending.remove(at: i)
        leases[c] = (worker, now + leaseSeconds)
        return c
    }

    /// Records a failure of `chunk` at `now` (it must already be released); returns its retry state.
    @discardableResult
    public mutating func noteFailure(_ chunk: Int, _ message: String, now: Double) -> RetryState {
        failures[chunk, default: RetryState()].failed(message, now: now)
        return failures[chunk]!
    }

    /// Releases every lease (the job stopped).
    public mutating func releaseAll() { for c in leases.keys.sorted() { drop(c) } }

    /// Records a completion. Returns true when it is the first completion of that chunk.
    public mutating func complete(_ chunk: Int) -> Bool {
        guard chunk >= 0, chunk < chunkCount, !done.contains(chunk) else { return false }
        leases[chunk] = nil
        pending.removeAll { $0 == chunk }
        done.insert(chunk)
        return true
    }

    /// Returns a chunk to pending when `worker` holds its lease (that worker failed it). A late
    /// failure from a worker whose lease expired, while another worker holds the chunk, changes
    /// nothing. Returns true when the chunk was released.
    @discardableResult
    public mutating func release(_ chunk: Int, by worker: Peer) -> Bool {
        guard leases[chunk]?.worker == worker else { return false }
        drop(chunk)
        return true
    }

    /// Releases every chunk leased to a dead worker; returns them.
    @discardableResult
    public mutating func workerDied(_ worker: Peer) -> [Int] {
        let lost = leased(to: worker)
        for c in lost { drop(c) }
        return lost
    }

    /// Releases expired leases; returns them.
    @discardableResult
    public mutating func expire(now: Double) -> [Int] {
        let late = leases.filter { $0.value.expires <= now }.map(\.key).sorted()
        for c in late { drop(c) }
        return late
    }

    private mutating func drop(_ chunk: Int) {
        guard leases.removeValue(forKey: chunk) != nil, !done.contains(chunk) else { return }
        insertPending(chunk)
    }

    private mutating func insertPending(_ c: Int) {
        let i = pending.firstIndex(where: { $0 > c }) ?? pending.count
        pending.insert(c, at: i)
    }
}
