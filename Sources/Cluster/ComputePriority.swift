import Foundation
#if canImport(Glibc)
import Glibc
#endif

#if os(Linux)
@_silgen_name("gettid") private func c_gettid() -> Int32
#endif

/// A worker's compute at a lower CPU priority than its serving threads and the coordinator: the
/// kernel then runs a shard search or the coordinator's query embedding at once instead of
/// sharing the cores with a job's forward pass. Linux nice values are per thread; a thread may
/// always lower its own priority (raising it back needs privileges, so it is never tried).
public enum ComputePriority {
    /// Lowers the calling thread to `nice` (1...19; 0 or less: nothing) unless it is already lower.
    public static func lowerCurrentThread(to nice: Int32) {
        #if os(Linux)
        guard nice > 0 else { return }
        let which = __priority_which_t(PRIO_PROCESS.rawValue), tid = id_t(c_gettid())
        errno = 0
        let now = getpriority(which, tid)
        if errno == 0 && now < nice { _ = setpriority(which, tid, min(nice, 19)) }
        #endif
    }

    /// Lowers the threads of Dispatch's pool that a forward pass's `concurrentPerform` runs on
    /// (the engine splits a batch over the cores there), by running a step on as many of them as
    /// it spreads over. The process must then run no latency-sensitive work on Dispatch's pool
    /// (a worker's shard searches run on a `SerialThread`).
    public static func lowerDispatchPool(to nice: Int32) {
        guard nice > 0 else { return }
        DispatchQueue.concurrentPerform(iterations: 2 * ProcessInfo.processInfo.activeProcessorCount) { _ in
            lowerCurrentThread(to: nice)
        }
    }

    /// The calling thread's nice value (tests).
    public static func currentThreadNice() -> Int32 {
        #if os(Linux)
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), id_t(c_gettid()))
        #else
        return 0
        #endif
    }
}

/// One thread running submitted closures in order (a serial queue off Dispatch's pool, so its
/// priority is its own).
final class SerialThread: @unchecked Sendable {
    private let cond = NSCondition()
    private var work: [() -> Void] = []
    private var stopping = false

    init(name: String) {
        let t = Thread { [self] in
            while true {
                cond.lock()
                while work.isEmpty && !stopping { cond.wait() }
                if work.isEmpty { cond.unlock(); return }
                let next = work.removeFirst()
                cond.unlock()
                next()
            }
        }
        t.name = name
        t.start()
    }

    func async(_ f: @escaping () -> Void) {
        cond.lock(); work.append(f); cond.signal(); cond.unlock()
    }

    /// Ends the thread once what is queued has run.
    func stop() { cond.lock(); stopping = true; cond.broadcast(); cond.unlock() }
}
