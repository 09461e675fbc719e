import COpenBLAS
import Foundation

/// How many threads Strata's compute uses: the one setting that `--threads` controls, passed down to
/// the inference engine (`BertEngine.parallelism`), training (`TrainableBert.parallelism`), the row
/// kernels (`parallelRanges`, `PackedLinear.apply`) and exact search (`FlatIndex.parallelism`).
///
/// The truth about OpenBLAS: the Debian build here (0.3.21, pthreads) has one process-global thread
/// count and no per-call or per-thread setting. `configureProcess` sets it once, with the process
/// default, under `BLASThreads`' lock. The only other writer is `BLASThreads.singleThreaded` (attention
/// and data-parallel inference, where our own threads each make small single-threaded GEMMs), which
/// switches it to 1 for its duration under that same lock. A BLAS call made meanwhile by a thread
/// outside that region runs single-threaded too: a matter of speed only, since OpenBLAS splits a GEMM
/// over rows and columns, never over the summed dimension, so its results do not depend on the count.
public struct Parallelism: Sendable, Equatable, CustomStringConvertible {
    /// Threads (>= 1).
    public let threads: Int

    public init(threads: Int) {
        precondition(threads >= 1, "Parallelism: threads must be >= 1, got \(threads)")
        self.threads = threads
    }

    /// One thread.
    public static let serial = Parallelism(threads: 1)

    public var description: String { "\(threads) thread\(threads == 1 ? "" : "s")" }

    /// The process setting: what `configureProcess` last set (strata's `--threads`), else OpenBLAS's
    /// own count when first asked (OPENBLAS_NUM_THREADS, or all cores).
    public static var process: Parallelism {
        let setting = ProcessSetting.shared
        setting.lock.lock()
        defer { setting.lock.unlock() }
        if let p = setting.value { return p }
        // Never read inside a switched region: `singleThreaded` asks for this before it switches.
        let p = Parallelism(threads: max(1, Int(openblas_get_num_threads())))
        setting.value = p
        return p
    }

    /// Sets the process setting and OpenBLAS's global thread count to `p`. Meant to be called once, at
    /// startup, before any compute (strata does it for `--threads`).
    public static func configureProcess(_ p: Parallelism) {
        BLASThreads.lock.lock()
        defer { BLASThreads.lock.unlock() }
        let setting = ProcessSetting.shared
        setting.lock.lock()
        setting.value = p
        setting.lock.unlock()
        openblas_set_num_threads(Int32(p.threads))
    }
}

/// The process setting's storage, under its own lock (never held while waiting for another).
private final class ProcessSetting: @unchecked Sendable {
    static let shared = ProcessSetting()
    let lock = NSLock()
    var value: Parallelism?
}

/// Threading of the BLAS library (OpenBLAS's process-global count; see `Parallelism`).
public enum BLASThreads {
    /// Guards every change of OpenBLAS's global thread count (recursive: a switched region may be
    /// entered again by the thread that holds it).
    static let lock = NSRecursiveLock()

    /// Number of threads OpenBLAS uses for one call now.
    public static var count: Int { Int(openblas_get_num_threads()) }

    /// Runs `body` with OpenBLAS single-threaded, so several of our own threads can each make small
    /// BLAS calls (e.g. per-sequence attention) without oversubscribing the cores. Regions are
    /// serialised by a process-wide lock; inside one (count already 1) it just runs `body`, so the
    /// region's own worker threads may call it again without waiting for the lock.
    public static func singleThreaded<T>(_ body: () throws -> T) rethrows -> T {
        _ = Parallelism.process   // fixes the process default before the first switch
        if count == 1 { return try body() }
        lock.lock()
        defer { lock.unlock() }
        let before = count
        if before == 1 { return try body() }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(before)) }
        return try body()
    }
}
