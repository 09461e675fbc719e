import Foundation
import Cluster
import CommandLineFlags

/// A command line checked against its command's flag table (see `Sources/CommandLineFlags`).
typealias Arguments = ParsedArguments

/// A command-line failure: printed as `strata COMMAND: <message>` with exit status 2 (usage) or 1
/// (runtime). The message never repeats the command: `main` adds it once.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var isUsage: Bool
    init(_ message: String, usage: Bool = false) { description = message; isUsage = usage }
}

/// Flags several commands declare alike (each command's table lists the ones it reads).
enum CommonFlags {
    static let threads = Flag.int("threads", defaultNote: "all cores", min: 1, max: 256, help: "threads of every pool: the engine, training, search and OpenBLAS")

    static func precision(_ help: String = "the dense layers' weights are converted when loaded") -> Flag {
        Flag.choice("precision", ["fp32", "bf16", "int8"], default: "fp32", help: help)
    }

    static let keys = Flag.path("keys", "DIR", help: "CURVE keys from `strata keys gen` (each process reads what its role needs)")

    static func coordinator(_ help: String = "the coordinator's endpoint (tcp://HOST:PORT)") -> Flag {
        Flag.string("coordinator", "ADDR", required: true, help: help)
    }
}

/// Writes a line to standard error (progress, warnings), cut at `ProtocolConstants.maxLogLineBytes`.
func note(_ message: String) {
    FileHandle.standardError.write((LogLine.cap(message) + "\n").data(using: .utf8)!)
}

/// True when `--help` or `-h` appears among the arguments (before a `--`).
func wantsHelp(_ args: [String]) -> Bool {
    let flags = args.prefix { $0 != "--" }
    return flags.contains("--help") || flags.contains("-h")
}
