import Foundation
import Cluster

/// A command-line failure: printed as `strata: <message>` with exit status 2 (usage) or 1 (runtime).
struct CLIError: Error, CustomStringConvertible {
    var description: String
    var isUsage: Bool
    init(_ message: String, usage: Bool = false) { description = message; isUsage = usage }
}

/// Hand-written flag parser: `--flag value`, `--flag=value`, boolean `--switch`, and positionals.
///
/// Every subcommand declares the flags it knows; an unknown flag, a missing value or a value of
/// the wrong type is a usage error that names the flag.
struct Arguments {
    private(set) var values: [String: [String]] = [:]
    private(set) var switches: Set<String> = []
    private(set) var positionals: [String] = []
    let command: String

    /// - Parameters:
    ///   - options: flags that take a value (without the leading `--`).
    ///   - flags: boolean switches (without the leading `--`).
    init(_ args: [String], command: String, options: Set<String>, flags: Set<String> = []) throws {
        self.command = command
        var i = 0
        while i < args.count {
            let arg = args[i]
            if arg == "--" { positionals.append(contentsOf: args[(i + 1)...]); break }
            if arg.hasPrefix("--") {
                var name = String(arg.dropFirst(2))
                var inline: String? = nil
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
                if flags.contains(name) {
                    if inline != nil { throw CLIError("\(command): --\(name) takes no value", usage: true) }
                    switches.insert(name)
                } else if options.contains(name) {
                    let value: String
                    if let inline { value = inline } else {
                        guard i + 1 < args.count else { throw CLIError("\(command): --\(name) needs a value", usage: true) }
                        i += 1
                        value = args[i]
                    }
                    values[name, default: []].append(value)
                } else {
                    throw CLIError("\(command): unknown flag --\(name) (see `strata \(command) --help`)", usage: true)
                }
            } else {
                positionals.append(arg)
            }
            i += 1
        }
    }

    /// True when the boolean switch was given.
    func flag(_ name: String) -> Bool { switches.contains(name) }

    /// The last value of an optional flag.
    func string(_ name: String) -> String? { values[name]?.last }

    /// Every value of a repeatable flag, in order.
    func strings(_ name: String) -> [String] { values[name] ?? [] }

    /// The value of a required flag, or a usage error naming it.
    func required(_ name: String) throws -> String {
        guard let v = string(name) else { throw CLIError("\(command): missing required flag --\(name)", usage: true) }
        return v
    }

    /// An integer flag with bounds, or a usage error naming it.
    func int(_ name: String, default def: Int? = nil, min: Int = Int.min, max: Int = Int.max) throws -> Int? {
        guard let s = string(name) else { return def }
        guard let v = Int(s), v >= min, v <= max else {
            throw CLIError("\(command): --\(name) must be an integer in \(min == Int.min ? "..." : String(min))...\(max == Int.max ? "" : String(max)), got '\(s)'", usage: true)
        }
        return v
    }

    /// A floating-point flag, or a usage error naming it.
    func double(_ name: String, default def: Double? = nil) throws -> Double? {
        guard let s = string(name) else { return def }
        guard let v = Double(s), v.isFinite else { throw CLIError("\(command): --\(name) must be a number, got '\(s)'", usage: true) }
        return v
    }
}

extension Arguments {
    /// A duration in seconds that must not be negative, or a usage error naming the flag.
    func seconds(_ name: String, default def: Double, allowZero: Bool = true) throws -> Double {
        let v = try double(name, default: def)!
        guard allowZero ? v >= 0 : v > 0 else {
            throw CLIError("\(command): --\(name) must be \(allowZero ? "0 or more" : "more than 0") seconds, got '\(string(name) ?? "")'", usage: true)
        }
        return v
    }
}

/// Writes a line to standard error (progress, warnings), cut at `ProtocolConstants.maxLogLineBytes`.
func note(_ message: String) {
    FileHandle.standardError.write((LogLine.cap(message) + "\n").data(using: .utf8)!)
}

/// True when `--help` or `-h` appears among the arguments.
func wantsHelp(_ args: [String]) -> Bool { args.contains("--help") || args.contains("-h") }
