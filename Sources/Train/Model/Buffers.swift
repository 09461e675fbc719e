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
