import Foundation
import Cluster
import Model

/// Options the security review added to the cluster commands: the jobs root, the bind policy
/// without keys, and model names resolved once, where the user gives them.

/// The default coordinator endpoint: loopback, so that a coordinator started without CURVE keys
/// is reachable from this machine only.
let defaultCoordinatorBind = "tcp://127.0.0.1:5555"

/// The longest `--timeout` a cluster command takes, in seconds (a day): larger values are refused
/// by the flag tables rather than overflowing a millisecond count.
let maxCommandTimeout = 86_400.0

/// `--jobs-root DIR` as a confined root (nil when absent: the coordinator then runs no jobs).
func jobsRootOption(_ a: Arguments) throws -> JobsRoot? {
    guard let dir = a.string("jobs-root") else { return nil }
    do { return try JobsRoot(dir) } catch { throw CLIError("\(error)", usage: true) }
}

/// Warns on stderr, loudly, when a coordinator without keys binds an address other machines reach.
func warnUnsafeBind(_ bind: String, keys: Bool) {
    if let w = CoordinatorServer.bindWarning(bind, keys: keys) {
        note(String(repeating: "!", count: 78))
        note("coordinator: " + w)
        note(String(repeating: "!", count: 78))
    }
}

/// The model directory `name` stands for (a directory, a name in $STRATA_MODELS or a Hugging Face
/// id in the local hub cache), as a real path: what is sent to the coordinator and the workers,
/// so every process loads the same files and the store fingerprint names them.
func resolveModelArgument(_ name: String, flag: String) throws -> String {
    let dir: URL
    do { dir = try ModelLocator.resolve(name) } catch { throw CLIError("--\(flag) \(name): \(error)") }
    guard let r = realpath(dir.path, nil) else { return dir.path }
    defer { free(r) }
    return String(cString: r)
}
