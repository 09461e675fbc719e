import Foundation
import Cluster
import Wire
import CommandLineFlags

/// `strata job embed|status|cancel`: batch embedding jobs run by the cluster.
enum JobCommand {
    static let group = CommandGroup("job", summary: "run a batch embedding job on a cluster (resumable, fault tolerant)")
}

/// `strata job embed`: submits a job and follows it to the end.
enum JobEmbedCommand: Subcommand {
    static let spec = CommandSpec("job embed", summary: "submit a batch embedding job and follow it to the end (progress and ETA on stderr)", flags: [
        CommonFlags.coordinator(),
        .path("corpus", "FILE", required: true, help: "the corpus (.jsonl BEIR or a text per line), as the coordinator and workers see it"),
        .string("model", "NAME", required: true, help: "a model directory, a name in $STRATA_MODELS or a Hugging Face id in the local hub cache, resolved here to its directory (which the workers must see at the same path)"),
        .path("out", "DIR", required: true, help: "output directory: new, empty or this same job's"),
        .int("chunk-size", defaultNote: "\(ProtocolConstants.jobChunkSize)", min: 1, max: 1 << 20,
             help: "documents per chunk (the default is the batching unit of `strata embed`; another size is identical only up to float rounding)"),
        CommonFlags.keys,
        .double("timeout", "S", default: 0, .atLeast(0), help: "give up after S seconds, the submission included (0: never)"),
    ], details: """
      Paths are as the coordinator and workers see them; the corpus and DIR must lie inside the
      coordinator's --jobs-root. Output in DIR: embeddings.npy (float32 [n, dim], byte-identical to
      `strata embed --input FILE --output x.npy` with the same model), ids.txt, manifest.json
      (checksums); the chunks/ written on the way are removed once the output is durable. Submitting
      the same job again follows the existing one while its corpus is unchanged (else refused:
      choose another --out).
    """)

    static func run(_ a: Arguments) throws {
        let limit = a.double("timeout")!
        let start = Date()
        let client = try ClusterClient(endpoint: a.value("coordinator"), keys: try curveKeys(a))
        let req = JobSubmitRequest(corpusPath: absolutePath(a.value("corpus")), model: try resolveModelArgument(a.value("model"), flag: "model"),
                                   outDir: absolutePath(a.value("out")), chunkSize: a.int("chunk-size") ?? 0)
        let submitTimeout = limit > 0 ? min(60, limit) : 60
        let reply: Body
        do { reply = try client.call(.jobSubmitRequest(req), timeout: submitTimeout) } catch is ClusterClient.ClientError {
            // The coordinator answers a submission once the corpus is indexed, which takes a while for a large one.
            throw CLIError("no reply to the submission within \(formatSeconds(submitTimeout)) s: the coordinator may still be indexing the corpus "
                           + "(run the same command again to follow that job), or it is not running at \(a.value("coordinator")), or the CURVE keys are wrong")
        }
        guard case .jobSubmitReply(let sub) = reply else { throw CLIError("unexpected reply") }
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

/// Seconds as a person writes them: 60 rather than 60.0.
private func formatSeconds(_ s: Double) -> String { s.rounded() == s && s < 1e15 ? String(Int(s)) : String(s) }
