import Dispatch
import Foundation
import Kernels

/// Activation buffers of `BertEngine`'s forward passes, kept from one forward to the next and handed
/// back to the system when the engine goes idle.
///
/// Why: a forward over 32 x 128 tokens writes about 60 MB of activations (hidden states, QKV, context,
/// the intermediate layer). Allocated per forward, that memory came back from the kernel zero-filled
/// on first touch every time: the page faults cost 6-10% of a forward. Forwards are serialised
/// process-wide (`BertEngine`'s lock), so one set of buffers serves every engine of the process (the DE
/// and the CE of a worker share it).
///
/// Bounded and honest resident memory: buffers are mapped directly (`allocateScratchBlock` maps blocks of
/// 256 KiB and more), a forward whose buffers total more than `maxCachedBytes` frees them when it
/// ends, and `idleSeconds` after the last forward every buffer is unmapped, so an idle process holds
/// none of this memory.
public final class ForwardScratch: @unchecked Sendable {
    /// The process's cache (forwards are serialised process-wide, so one set serves all engines).
    public static let shared = ForwardScratch(maxCachedBytes: 256 << 20, idleSeconds: 1)

    /// Buffers kept between forwards at most (bytes, all slots together).
    public let maxCachedBytes: Int
    /// Seconds without a forward after which every buffer is freed.
    public let idleSeconds: Double

    private struct Block { var pointer: UnsafeMutableRawPointer; var bytes: Int }
    private let lock = NSLock()
    private var blocks: [Int: Block] = [:]
    private var active = 0
    private var lastUse = DispatchTime.now()
    private var releaseScheduled = false

    /// A cache of its own (the engine uses `shared`).
    public init(maxCachedBytes: Int, idleSeconds: Double) {
        self.maxCachedBytes = maxCachedBytes
        self.idleSeconds = idleSeconds
    }

    /// Bytes held now (for tests and diagnostics).
    public var heldBytes: Int { lock.withLock { blocks.values.reduce(0) { $0 + $1.bytes } } }

    /// Marks a forward as running: its buffers stay valid until the matching `endForward`.
    public func beginForward() { lock.withLock { active += 1 } }

    /// Slot `slot`'s buffer of at least `count` floats, 64-byte aligned, contents undefined; valid until
    /// `endForward`. Each slot is used by one thread of the forward at a time.
    public func floats(slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = Swift.max(64, count * MemoryLayout<Float>.stride)
        return lock.withLock {
            precondition(active > 0, "ForwardScratch: buffer outside a forward")
            if let b = blocks[slot], b.bytes >= bytes { return b.pointer.assumingMemoryBound(to: Float.self) }
            if let b = blocks.removeValue(forKey: slot) { freeScratchBlock(b.pointer, bytes: b.bytes) }
            guard let p = allocateScratchBlock(bytes: bytes) else { fatalError("out of memory for \(bytes) bytes of forward scratch") }
            blocks[slot] = Block(pointer: p, bytes: bytes)
            return p.assumingMemoryBound(to: Float.self)
        }
    }

    /// Ends a forward: frees everything when the buffers exceed `maxCachedBytes`, else keeps them and
    /// makes sure an idle release is scheduled.
    public func endForward() {
        lock.withLock {
            active -= 1
            lastUse = .now()
            if active == 0 && blocks.values.reduce(0, { $0 + $1.bytes }) > maxCachedBytes { freeAllLocked() }
            scheduleReleaseLocked(after: idleSeconds)
        }
    }

    /// Frees every buffer now unless a forward is running.
    public func releaseNow() { lock.withLock { if active == 0 { freeAllLocked() } } }

    private func freeAllLocked() {
        for b in blocks.values { freeScratchBlock(b.pointer, bytes: b.bytes) }
        blocks.removeAll()
    }

    private func scheduleReleaseLocked(after seconds: Double) {
        guard !releaseScheduled, !blocks.isEmpty else { return }
        releaseScheduled = true
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + seconds) { [self] in
            lock.withLock {
                releaseScheduled = false
                let idle = Double(DispatchTime.now().uptimeNanoseconds &- lastUse.uptimeNanoseconds) / 1e9
                if active == 0 && idle >= idleSeconds {
                    freeAllLocked()
                } else {
                    scheduleReleaseLocked(after: Swift.max(0.01, idleSeconds - (active == 0 ? idle : 0)))
                }
            }
        }
    }
}
