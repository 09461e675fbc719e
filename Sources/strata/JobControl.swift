import Foundation
import Cluster
import Wire

/// `strata job status ID` and `strata job cancel ID`.
enum JobControl {
    /// Status requests in a row a follower may see unanswered before it gives up (with back-off between).
    static let maxSilentPolls = 6

    static func run(_ args: [String]) throws {
        let action = args[0]
        let a = try Arguments(Array(args.dropFirst()), command: "job \(action)", options: ["coordinator", "keys", "timeout"])
        guard a.positionals.count == 1, let id = a.positionals.first else { throw CLIError("job \(action): give one JOB_ID", usage: true) }
        let timeout = try a.double("timeout", default: 10)!
        guard timeout > 0 else { throw CLIError("job \(action): --timeout must be positive", usage: true) }
        let client = try ClusterClient(endpoint: try a.required("coordinator"), keys: try curveKeys(a))
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
