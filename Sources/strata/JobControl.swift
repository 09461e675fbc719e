import Foundation
import Cluster
import Wire
import CommandLineFlags

/// `strata job status ID` and `strata job cancel ID`.
enum JobControl {
    /// Status requests in a row a follower may see unanswered before it gives up (with back-off between).
    static let maxSilentPolls = 6

    static func spec(_ action: String, _ summary: String) -> CommandSpec {
        CommandSpec("job \(action)", summary: summary, flags: [
            CommonFlags.coordinator(),
            CommonFlags.keys,
            .double("timeout", "S", default: 10, .aboveAtMost(0, maxCommandTimeout), help: "seconds to wait for the coordinator's answer"),
        ], positionals: [Positional("JOB_ID", help: "the id `strata job embed` printed")])
    }

    static func run(_ action: String, _ a: Arguments) throws {
        let id = a.positionals[0]
        let timeout = a.double("timeout")!
        let client = try ClusterClient(endpoint: a.value("coordinator"), keys: try curveKeys(a))
        if action == "cancel" {
            guard case .jobCancelReply(let r) = try client.call(.jobCancelRequest(JobCancelRequest(jobID: id)), timeout: timeout) else {
                throw CLIError("unexpected reply")
            }
            print(r.cancelled ? "job \(id): cancelled" : "job \(id): not running (\(r.error.isEmpty ? "finished" : "failed: " + r.error))")
            return
        }
        guard case .jobStatusReply(let s) = try client.call(.jobStatusRequest(JobStatusRequest(jobID: id)), timeout: timeout) else {
            throw CLIError("unexpected reply")
        }
        let state = !s.error.isEmpty ? "failed: \(s.error)" : s.finished ? "finished" : "running"
        print("job \(id): \(state)")
        print("  chunks \(s.chunksDone)/\(s.chunksTotal), documents \(s.docsDone)/\(s.docsTotal)"
              + (s.error.isEmpty && !s.finished ? (s.etaSeconds >= 0 ? String(format: ", ETA %.0f s", s.etaSeconds) : ", ETA ?") : ""))
        if !s.error.isEmpty { throw CLIError("job \(id) failed: \(s.error)") }
    }
}

/// `strata job status JOB_ID`.
enum JobStatusCommand: Subcommand {
    static let spec = JobControl.spec("status", "a job's progress, or the error that failed it")
    static func run(_ a: Arguments) throws { try JobControl.run("status", a) }
}

/// `strata job cancel JOB_ID`.
enum JobCancelCommand: Subcommand {
    static let spec = JobControl.spec("cancel", "stop a job (journaled, not resumed after a restart)")
    static func run(_ a: Arguments) throws { try JobControl.run("cancel", a) }
}
