import Foundation
import Cluster
import Wire

/// `strata job embed`: a batch embedding job run by the cluster.
enum JobCommand: Subcommand {
    static let name = "job"
    static let summary = "run a batch embedding job on a cluster (resumable, fault tolerant)"
    static let usage = """
    usage: strata job embed --coordinator ADDR --corpus FILE --model DIR --out DIR [--chunk-size N] [--keys DIR] [--timeout S]
           strata job status --coordinator ADDR [--keys DIR] JOB_ID    (progress, or the error that failed the job)
           strata job cancel --coordinator ADDR [--keys DIR] JOB_ID    (stop it; journaled, not resumed after a restart)

      Submits the job (paths as the coordinator and workers see them; the corpus and DIR must lie
      inside the coordinator's --jobs-root, and DIR must be new, empty or this same job's) and follows it to the end,
      with progress and ETA on stderr. Output in DIR: embeddings.npy (float32 [n, dim], byte-identical
      to `strata embed --input FILE --output x.npy` with the same model), ids.txt, manifest.json
      (checksums); the chunks/ written on the way are removed once the output is durable. Submitting the
      same job again follows the existing one.
      --chunk-size N   documents per chunk (default \(ProtocolConstants.jobChunkSize), the batching unit of
                       `strata embed`; another size is identical only up to float rounding)
      --model NAME     a model directory, a name in $STRATA_MODELS or a Hugging Face id in the local hub
                       cache, resolved here to its directory (which the workers must see at the same path)
      --timeout S      give up after S seconds, the submission included (default: never)
    """

    static func run(_ args: [String]) throws {
        if args.first == "cancel" || args.first == "status" { return try JobControl.run(args) }
        guard args.first == "embed" else { throw CLIError("job actions: `embed`, `status`, `cancel` (strata job --help)", usage: true) }
        let a = try Arguments(Array(args.dropFirst()), command: "job embed", options: ["coordinator", "corpus", "model", "out", "chunk-size", "keys", "timeout"])
        let limit = try a.seconds("timeout", default: 0)
        let start = Date()
        let client = try ClusterClient(endpoint: try a.required("coordinator"), keys: try curveKeys(a))
        let req = JobSubmitRequest(corpusPath: absolutePath(try a.required("corpus")), model: try resolveModelArgument(try a.required("model"), flag: "model"),
                                   outDir: absolutePath(try a.required("out")), chunkSize: try a.int("chunk-size", default: 0, min: 1, max: 1 << 20) ?? 0)
        let submitTimeout = limit > 0 ? min(60, limit) : 60
        guard case .jobSubmitReply(let sub) = try client.call(.jobSubmitRequest(req), timeout: submitTimeout) else { throw CLIError("unexpected reply") }
        note("job \(sub.jobID): \(sub.chunks) chunks")
        var lastNote = Date.distantPast
        var silent = 0   // status requests in a row left unanswered (each waited 10 s)
        while true {
            if limit > 0 && Date().timeIntervalSince(start) > limit { throw CLIError("job \(sub.jobID) not finished after \(limit) s") }
            let status: JobStatusReply
            do {
                guard case .jobStatusReply(let s) = try client.call(.jobStatusRequest(JobStatusRequest(jobID: sub.jobID)),
                                                                   timeout: limit > 0 ? max(0.05, min(10, limit - Date().timeIntervalSince(start))) : 10) else { throw CLIError("unexpected reply") }
                status = s
            } catch let e as ClusterClient.ClientError {
                silent += 1
                if silent >= JobControl.maxSilentPolls { throw CLIError("job \(sub.jobID): the coordinator did not answer \(silent) status requests in a row: \(e)") }
                let pause = RetryState.delay(afterFailures: silent)
                note("job \(sub.jobID): \(e) (retrying in \(Int(pause)) s, \(silent) of \(JobControl.maxSilentPolls))")
                usleep(UInt32(pause * 1_000_000)); continue
            }
            silent = 0
            if !status.error.isEmpty { throw CLIError("job \(sub.jobID) failed: \(status.error)") }
            if status.finished {
                note(String(format: "job %@: done, %d documents in %.1f s -> %@", sub.jobID, status.docsTotal, Date().timeIntervalSince(start), req.outDir))
                print(req.outDir + "/embeddings.npy")
                return
            }
            if Date().timeIntervalSince(lastNote) > 1 {
                lastNote = Date()
                let eta = status.etaSeconds >= 0 ? String(format: "ETA %.0f s", status.etaSeconds) : "ETA ?"
                note("job \(sub.jobID): \(status.chunksDone)/\(status.chunksTotal) chunks, \(status.docsDone)/\(status.docsTotal) documents, \(eta)")
            }
            usleep(200_000)
        }
    }
}
