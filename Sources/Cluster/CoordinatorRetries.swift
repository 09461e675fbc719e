import Wire

/// Bounded retries of LoadModel (per worker and model), with exponential back-off and a cap
/// (`RetryState`); past the cap on every live worker a job fails with the worker's own message.
/// A job chunk's retries are the Jobs part's (`JobsState.chunkFailed`); AssignShard's are in `placeShards`.
extension Coordinator {
    /// True when LoadModel of `name` may be sent to `w` now (not loading, under the cap, past the back-off).
    func mayLoad(_ w: Peer, _ name: String, _ now: Double) -> Bool {
        guard !(loading[w]?.contains(name) ?? false) else { return false }
        return loadRetry[LoadKey(worker: w, name: name)]?.mayTry(now: now, cap: ProtocolConstants.loadModelMaxAttempts) ?? true
    }

    /// A LoadModel failed (error reply or timeout): back off, and fail the jobs whose model no live
    /// worker could load.
    mutating func loadFailed(_ w: Peer, _ name: String, _ message: String, _ now: Double, _ out: inout [CoordinatorAction]) {
        let key = LoadKey(worker: w, name: name)
        loadRetry[key, default: RetryState()].failed(message, now: now)
        let r = loadRetry[key]!
        let cap = ProtocolConstants.loadModelMaxAttempts
        if r.exhausted(cap: cap) {
            out.append(.log("model '\(name)' failed to load on \(w) \(r.failures) times: giving up on this worker (last: \(message))"))
        } else {
            out.append(.log(String(format: "model '%@' failed to load on %@ (try %d of %d); next try in %.0f s", name, w.description, r.failures, cap, r.nextTry - now)))
        }
        failJobsWithUnloadableModels(&out)
    }

    /// Serving models (DE/CE) whose load failed on a worker are asked for again once the back-off
    /// has passed, up to the cap.
    mutating func retryServingLoads(_ now: Double, _ out: inout [CoordinatorAction]) {
        for w in liveWorkers {
            for (name, path) in [(ProtocolConstants.deModelName, config.deModel), (ProtocolConstants.ceModelName, config.ceModel)] {
                guard let path, membership.workers[w]?.models.contains(name) == false, loadRetry[LoadKey(worker: w, name: name)] != nil,
                      mayLoad(w, name, now) else { continue }
                loadModel(w, name, path, now, &out)
            }
        }
    }

    /// The name a job's model is loaded under on the workers (the serving DE's directory is "de").
    /// (Not when "de" embeds with a retrieval layer: a job gets the model's own embedding.)
    func modelName(_ job: JobRun) -> String {
        job.spec.model == config.deModel && config.retrievalLayer == nil ? ProtocolConstants.deModelName : job.spec.model
    }

    /// Fails every running job whose model has failed to load `loadModelMaxAttempts` times on every
    /// live worker, with the last worker's message (which names the file).
    mutating func failJobsWithUnloadableModels(_ out: inout [CoordinatorAction]) {
        let live = liveWorkers
        guard !live.isEmpty else { return }
        for id in jobs.keys.sorted() where jobs[id]!.error.isEmpty && !jobs[id]!.finishAnnounced {
            let name = modelName(jobs[id]!)
            let states = live.map { loadRetry[LoadKey(worker: $0, name: name)] }
            guard states.allSatisfy({ $0?.exhausted(cap: ProtocolConstants.loadModelMaxAttempts) ?? false }) else { continue }
            let last = states.compactMap { $0?.lastError }.last ?? ""
            jobFailed(id, "model \(jobs[id]!.spec.model) could not be loaded (\(ProtocolConstants.loadModelMaxAttempts) tries on each of "
                      + "\(live.count) worker(s)): \(last)", &out)
        }
    }
}
