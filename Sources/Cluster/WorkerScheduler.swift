import Foundation
import Wire

/// Orders a worker's compute on one thread: serving work (query embedding, shard search,
/// re-rank, model loads) goes before bulk work (job chunks, shard indexing and drops), and bulk
/// work runs one engine batch at a time, so a serving request waits at most one batch. Waiting
/// embed requests of one model are gathered into one forward pass under the token budget
/// (`WorkerService.maxBatchTokens`), and so are waiting re-rank requests; a request larger than the
/// budget advances a slice at a time and goes to the back of the serving queue between slices.
/// A request past its deadline is answered DEADLINE_EXCEEDED instead of being (further) computed.
/// Shard searches (no model needed) run on a serial search queue of their own. No sockets:
/// replies go to `deliver`, on the compute thread or the search queue.
public final class WorkerScheduler: @unchecked Sendable {
    let service: WorkerService
    let deliver: (Envelope) -> Void
    private let cond = NSCondition()
    private var serving: [WorkItem] = []
    private var bulk: [WorkItem] = []
    private var busy = false
    private var searching = 0
    private var stopping = false
    private var started = false
    private var exited = false
    /// Forward passes that gathered more than one request, and the requests they held (metrics).
    public private(set) var gatheredPasses = 0
    public private(set) var gatheredRequests = 0

    public init(service: WorkerService, deliver: @escaping (Envelope) -> Void) {
        self.service = service
        self.deliver = deliver
    }

    /// Shard searches: they need no model, so they run on their own thread and never wait behind
    /// a forward pass (`deliver` must then be safe to call from two threads). A thread of its own,
    /// not Dispatch's pool: with `computeNice` the pool's threads run the forward passes at low
    /// priority, the searches stay at the process's.
    private let searchQueue = SerialThread(name: "strata.worker.search")

    deinit { searchQueue.stop() }

    /// Queues a decoded request (any thread). Messages that need no answer are dropped.
    public func submit(_ request: Envelope) {
        guard let item = WorkItem(request) else { return }
        if case .searchShardRequest = request.body {
            cond.lock(); searching += 1; cond.unlock()
            searchQueue.async { [self] in
                deliver(item.expired(Date().timeIntervalSince1970) ? item.deadlineExceeded("while it waited") : service.respond(item))
                cond.lock(); searching -= 1; cond.broadcast(); cond.unlock()
            }
            return
        }
        cond.lock()
        if item.lane == .serving { serving.append(item) } else { bulk.append(item) }
        cond.signal()
        cond.unlock()
    }

    /// True when nothing is queued or running.
    public var idle: Bool {
        cond.lock(); defer { cond.unlock() }
        return serving.isEmpty && bulk.isEmpty && !busy && searching == 0
    }

    /// Starts the compute thread.
    public func start() {
        cond.lock(); started = true; cond.unlock()
        let t = Thread { [self] in
            ComputePriority.lowerCurrentThread(to: service.computeNice)
            while true {
                cond.lock()
                while serving.isEmpty && bulk.isEmpty && !stopping { cond.wait() }
                if stopping { exited = true; cond.broadcast(); cond.unlock(); return }
                cond.unlock()
                runOnce(now: Date().timeIntervalSince1970)
            }
        }
        t.name = "strata.worker.compute"
        t.start()
    }

    /// Drops what is queued, lets the running step end, and stops the compute thread (waits for it
    /// at most `timeout` seconds).
    public func stop(timeout: Double = 30) {
        cond.lock()
        stopping = true
        serving.removeAll(); bulk.removeAll()
        cond.broadcast()
        let until = Date().addingTimeInterval(timeout)
        while (busy || (started && !exited)) && Date() < until { _ = cond.wait(until: until) }
        cond.unlock()
    }

    /// One scheduling step on the caller's thread: answers requests past their deadline, then runs
    /// one serving pass (gathered) or else one batch of the first bulk request. False when idle.
    @discardableResult
    public func runOnce(now: Double) -> Bool {
        cond.lock()
        var replies: [Envelope] = []
        for lane in [\WorkerScheduler.serving, \WorkerScheduler.bulk] as [ReferenceWritableKeyPath<WorkerScheduler, [WorkItem]>] {
            let late = self[keyPath: lane].filter { $0.expired(now) }
            if !late.isEmpty {
                self[keyPath: lane].removeAll { $0.expired(now) }
                replies += late.map { $0.deadlineExceeded(($0.next > 0 || $0.planNext > 0) ? "after part of it was computed" : "while it waited") }
            }
        }
        let item: WorkItem? = !serving.isEmpty ? serving.removeFirst() : (!bulk.isEmpty ? bulk.removeFirst() : nil)
        busy = item != nil
        cond.unlock()
        guard let item else { replies.forEach(deliver); return !replies.isEmpty }
        var requeue: WorkItem?
        switch item.kind {
        case .single:
            replies.append(service.respond(item))
        case .planned:
            // The engine spreads a batch over Dispatch's pool: its threads too (new ones may have come).
            ComputePriority.lowerDispatchPool(to: service.computeNice)
            if item.plan == nil, let r = service.prepare(item) {
                replies.append(r)
            } else {
                do { try service.step(planned: item) } catch { replies.append(item.fail(error)); break }
                if item.done { replies.append(service.finish(item)) } else { requeue = item }
            }
        case .embed, .rerank:
            let (r, back) = runGathered(item)
            replies += r
            requeue = back
        }
        cond.lock()
        if let requeue {
            // Slices of a long serving request take turns with other serving work; the bulk
            // request runs on with its next batch unless serving work arrived meanwhile.
            if requeue.lane == .serving { serving.append(requeue) } else { bulk.insert(requeue, at: 0) }
        }
        busy = false
        cond.broadcast()
        cond.unlock()
        replies.forEach(deliver)
        return true
    }

    /// Runs `first` with the waiting requests of its kind and model that fit the budget beside it.
    /// Returns the replies and `first` when it has slices left.
    private func runGathered(_ first: WorkItem) -> ([Envelope], WorkItem?) {
        var replies: [Envelope] = []
        if first.tokens == nil, let r = service.prepare(first) { return ([r], nil) }
        let budget = max(1, service.maxBatchTokens)
        let slice = first.slice(budget: budget)
        var left = budget - first.tokens![slice].reduce(0, +)
        var slices: [(item: WorkItem, range: Range<Int>)] = [(first, slice)]
        if slice.upperBound == first.texts.count && left > 0 {
            cond.lock()
            let others = serving.filter { $0.kind == first.kind && $0.model == first.model }
            serving.removeAll { $0.kind == first.kind && $0.model == first.model }
            cond.unlock()
            var putBack: [WorkItem] = []
            for o in others {
                if o.tokens == nil, let r = service.prepare(o) { replies.append(r); continue }
                let need = o.remainingTokens
                if need <= left { slices.append((o, o.next..<o.texts.count)); left -= need } else { putBack.append(o) }
            }
            if !putBack.isEmpty { cond.lock(); serving.insert(contentsOf: putBack, at: 0); cond.unlock() }
        }
        do {
            try service.run(gathered: slices)
        } catch {
            return (replies + slices.map { $0.item.fail(error) }, nil)
        }
        if slices.count > 1 { gatheredPasses += 1; gatheredRequests += slices.count }
        for (item, _) in slices where item.done { replies.append(service.finish(item)) }
        return (replies, first.done ? nil : first)
    }
}
