import Foundation
import Formats
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// The coordinator shell's end of a job: the output made durable before the chunks are removed
/// (no second copy of the output stays on disk), failures journaled (a failed or cancelled job is
/// not resumed), and the resumption of jobs that had already ended.
extension CoordinatorServer {
    /// Test hook: called with the job id and a step name ("assembled": output durable and
    /// `finished` journaled, chunks still there; "cleaned": chunks removed). A test copies the
    /// disk state there, which is what a kill -9 at that instant leaves.
    public typealias JobStepHook = @Sendable (_ jobID: String, _ step: String) -> Void

    /// Removes `OUT/chunks` once the assembled output is durable and `finished` is journaled; the
    /// directory entry removals are made durable too. A failure only costs disk space: logged.
    func removeChunks(_ jobID: String, outDir: String) {
        let out = URL(fileURLWithPath: outDir)
        let chunks = out.appendingPathComponent("chunks")
        guard FileManager.default.fileExists(atPath: chunks.path) else { return }
        do {
            try FileManager.default.removeItem(at: chunks)
            try DurableFile.syncDirectory(out.path)
            log("job \(jobID): chunks removed (the assembled output is durable)")
        } catch {
            log("job \(jobID): cannot remove \(chunks.path): \(error)")
        }
        jobStepHook?(jobID, "cleaned")
    }

    /// The `failJob` action: journals `failed <error>` so the job is not resumed after a restart.
    func journalFailure(_ jobID: String, _ error: String) {
        do { try JobJournal.append(JobJournal.failedLine(error), to: journalURL(jobID)) } catch {
            log("job \(jobID): cannot journal its failure: \(error)")
        }
    }

    /// A journaled job that had ended, as it resumes: a failed one stays failed (not run); a
    /// finished one whose output is there is finished (its chunks, if a crash left them, are
    /// removed now); a finished one whose output was removed since is failed, saying so. Nil: the
    /// job had not ended and resumes from its chunks as usual (a crash after the output was written
    /// but before `finished` was journaled leaves every chunk: the output is assembled again, the same bytes).
    func resumeEnded(_ j: JobJournal, corpus: TextRecordIndex, done: Set<Int>) -> JobRun? {
        let id = j.spec.jobID
        var run = JobRun(spec: j.spec, corpus: corpus, scheduler: JobScheduler(chunkCount: j.spec.chunkCount, alreadyDone: done),
                         started: Self.now(), doneAtStart: done.count)
        if let failed = j.failed {
            run.error = failed
            log("job \(id): failed earlier, not resumed: \(failed)")
            return run
        }
        guard j.finished else { return nil }
        let out = URL(fileURLWithPath: j.spec.outDir)
        let complete = ["embeddings.npy", "ids.txt", "manifest.json"].allSatisfy {
            FileManager.default.fileExists(atPath: out.appendingPathComponent($0).path)
        }
        if complete {
            run.scheduler = JobScheduler(chunkCount: j.spec.chunkCount, alreadyDone: Set(0..<j.spec.chunkCount))
            run.doneAtStart = j.spec.chunkCount
            run.finishAnnounced = true
            log("job \(id): finished earlier")
            removeChunks(id, outDir: j.spec.outDir)
            return run
        }
        run.error = "the output in \(j.spec.outDir) was removed after the job finished: remove its journal and submit it again"
        log("job \(id): \(run.error)")
        return run
    }
}
