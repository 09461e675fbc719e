import Wire

/// Why a request to a worker was sent, to route its reply.
public enum Purpose: Equatable, Sendable {
    case loadModel(String)
    case assignShard(Int)
    case dropShard(Int)
    case embedQuery(search: UInt64)
    case searchShard(search: UInt64, shard: Int)
    case rerank(search: UInt64, part: Int)
    case chunk(job: String, chunk: Int)
    /// A client's embed or rerank call (CoordinatorServing.swift).
    case serving(UInt64)

    /// The search this request works for, if any.
    public var search: UInt64? {
        switch self {
        case .embedQuery(let s), .searchShard(let s, _), .rerank(let s, _): return s
        default: return nil
        }
    }

    /// Work for a search (retried elsewhere when its worker's connection drops).
    var isServing: Bool { search != nil }
}

/// One request in flight to a worker.
public struct Outstanding: Equatable, Sendable {
    public internal(set) var worker: Peer
    public internal(set) var purpose: Purpose
    public internal(set) var sentAt: Double
    /// Another replica was already asked because this one was slow (at most once per request).
    public internal(set) var hedged = false
}

/// The Requests part of the coordinator: the requests in flight to workers, by request id, shared
/// by the other parts (Search, Jobs, Placement, serving calls). Pure. Every request id (and search
/// id) comes from `newID`, so an id is never reused: a reply to a request that was already
/// answered, retried elsewhere, forgotten with its search, or sent to a worker's earlier
/// incarnation (its requests are dropped when it dies or registers again) finds nothing here and
/// is ignored.
public struct RequestTable: Sendable {
    /// Requests in flight, by request id.
    public internal(set) var table: [UInt64: Outstanding] = [:]
    /// The next id `newID` gives.
    public internal(set) var nextID: UInt64 = 1

    public init() {}

    /// A fresh id (for a request or a search).
    public mutating func newID() -> UInt64 { defer { nextID += 1 }; return nextID }

    /// Records a request sent to `worker` at `now`.
    public mutating func sent(_ id: UInt64, to worker: Peer, _ purpose: Purpose, now: Double) {
        table[id] = Outstanding(worker: worker, purpose: purpose, sentAt: now)
    }

    /// A reply to `id` came from `from`: the request, now answered, or nil when no request `id` is
    /// in flight to `from` (late, repeated, or from another worker or incarnation).
    public mutating func answered(_ id: UInt64, from: Peer) -> Outstanding? {
        guard let o = table[id], o.worker == from else { return nil }
        table[id] = nil
        return o
    }

    /// Removes and returns the requests matching `match`, in id order.
    public mutating func removeAll(where match: (Outstanding) -> Bool) -> [(id: UInt64, request: Outstanding)] {
        let gone = table.filter { match($0.value) }.sorted { $0.key < $1.key }
        for (id, _) in gone { table[id] = nil }
        return gone.map { (id: $0.key, request: $0.value) }
    }

    /// True when a request matching `match` is in flight.
    public func contains(where match: (Purpose) -> Bool) -> Bool { table.values.contains { match($0.purpose) } }

    /// Removes and returns the requests older than their purpose's `limit` at `now` (nil: no limit
    /// here), each with its limit, in id order.
    public mutating func expire(now: Double, limit: (Purpose) -> Double?) -> [(request: Outstanding, limit: Double)] {
        var late: [(request: Outstanding, limit: Double)] = []
        for id in table.keys.sorted() {
            guard let o = table[id], let l = limit(o.purpose), now - o.sentAt > l else { continue }
            table[id] = nil
            late.append((o, l))
        }
        return late
    }

    /// The requests matching `match` unanswered for more than `budget` at `now` and not hedged
    /// yet, in id order; each is marked hedged (it is hedged at most once) and stays in flight.
    public mutating func slow(now: Double, budget: Double, where match: (Purpose) -> Bool) -> [Outstanding] {
        var found: [Outstanding] = []
        for id in table.keys.sorted() {
            guard let o = table[id], !o.hedged, match(o.purpose), now - o.sentAt > budget else { continue }
            table[id]!.hedged = true
            found.append(o)
        }
        return found
    }
}
