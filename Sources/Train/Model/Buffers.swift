// Owned, growable Float32 buffers for activations and scratch space.

/// A heap buffer of Float that grows on demand and is freed with its owner.
public final class FloatBuffer {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(count: Int = 0) {
        capacity = max(count, 1)
        pointer = .allocate(capacity: capacity)
        pointer.initialize(repeating: 0, count: capacity)
    }
    deinit { pointer.deallocate() }

    /// Makes room for `count` floats (contents are NOT kept when it grows) and returns the pointer.
    @discardableResult
    public func ensure(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            capacity = count
            pointer = .allocate(capacity: count)
            pointer.initialize(repeating: 0, count: count)
        }
        return pointer
    }

    /// Ensures `count` floats and sets them to zero.
    @discardableResult
    public func zeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
        let p = ensure(count)
        p.update(repeating: 0, count: count)
        return p
    }

    /// The first `count` values as an array.
    public func array(_ count: Int) -> [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// Token ids of several sequences packed back to back (no padding), with their lengths.
public struct PackedBatch: Sendable, Equatable {
    /// [N] token ids, token type ids and positions (index within the sequence).
    public private(set) var ids: [Int32] = []
    public private(set) var types: [Int32] = []
    public private(set) var positions: [Int32] = []
    /// [B] number of tokens of each sequence (each >= 1).
    public private(set) var lengths: [Int] = []
    public var tokenCount: Int { ids.count }
    public var count: Int { lengths.count }

    public init() {}

    /// Packs sequences given as (ids, typeIds) pairs of equal length.
    public init(_ sequences: [(ids: [Int32], types: [Int32])]) {
        for s in sequences { append(ids: s.ids, types: s.types) }
    }

    /// Appends one sequence (ids and types of the same non-zero length).
    public mutating func append(ids newIds: [Int32], types newTypes: [Int32]) {
        precondition(!newIds.isEmpty && newIds.count == newTypes.count, "PackedBatch: bad sequence")
        ids += newIds
        types += newTypes
        positions += (0..<newIds.count).map { Int32($0) }
        lengths.append(newIds.count)
    }
}
