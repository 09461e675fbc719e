import Foundation

/// A command line its command's table refused: unknown flag, missing or malformed value, missing
/// required flag. The message names the flag and the value, without the command (the caller
/// prefixes `strata COMMAND: ` once).
public struct FlagError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ message: String) { description = message }
}

/// The flags and positionals of one command line, checked against a `CommandSpec`.
///
/// Syntax: `--flag value`, `--flag=value`, a switch `--flag`, positionals anywhere, `--` ends the
/// flags. Every value is checked against its flag's kind when parsed, and every default in the
/// table is checked too, so the typed accessors below cannot fail. Reading a flag that is not in
/// the table is a programming error (it traps), so the code cannot read an undocumented flag.
public struct ParsedArguments {
    public let spec: CommandSpec
    private var values: [String: [String]] = [:]
    private var switches: Set<String> = []
    /// The words that are not flags or their values, in order.
    public private(set) var positionals: [String] = []

    public init(_ args: [String], spec: CommandSpec) throws {
        self.spec = spec
        spec.validate()
        var i = 0
        while i < args.count {
            let arg = args[i]
            if arg == "--" { positionals.append(contentsOf: args[(i + 1)...]); break }
            guard arg.hasPrefix("--"), arg.count > 2 else { positionals.append(arg); i += 1; continue }
            var name = String(arg.dropFirst(2))
            var inline: String? = nil
            if let eq = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: eq)...])
                name = String(name[..<eq])
            }
            guard let flag = spec.flag(named: name) else {
                let hint = spec.closestFlag(to: name).map { " (did you mean --\($0)?)" } ?? ""
                throw FlagError("unknown flag --\(name)\(hint); see `strata \(spec.name) --help`")
            }
            if flag.kind == .bool {
                if inline != nil { throw FlagError("--\(name) takes no value") }
                switches.insert(name)
            } else {
                let value: String
                if let inline { value = inline } else {
                    guard i + 1 < args.count else { throw FlagError("--\(name) needs a value (\(flag.metavar))") }
                    i += 1
                    value = args[i]
                    // `--model --input t.txt`: the value forgotten, the next flag taken as it.
                    if value.hasPrefix("--"), value.count > 2,
                       spec.flag(named: String(value.dropFirst(2).prefix { $0 != "=" })) != nil {
                        throw FlagError("--\(name) needs a value (\(flag.metavar)); got the flag \(value)")
                    }
                }
                if value.isEmpty, flag.kind == .string { throw FlagError("--\(name) needs a non-empty value") }
                if let problem = flag.problem(with: value) { throw FlagError(problem) }
                values[name, default: []].append(value)
            }
            i += 1
        }
        for flag in spec.flags where flag.required && values[flag.name] == nil {
            throw FlagError("missing required flag --\(flag.name) \(flag.metavar)")
        }
        let fixed = spec.positionals.filter { !$0.variadic }
        if !spec.positionals.contains(where: \.variadic), positionals.count > fixed.count {
            throw FlagError("unexpected argument '\(positionals[fixed.count])'")
        }
        if let missing = spec.positionals.filter(\.required).dropFirst(positionals.count).first {
            throw FlagError("missing \(missing.name)")
        }
    }

    private func declared(_ name: String) -> Flag {
        guard let f = spec.flag(named: name) else { preconditionFailure("strata \(spec.name): --\(name) is read but not in the flag table") }
        return f
    }

    /// True when the switch was given.
    public func flag(_ name: String) -> Bool {
        precondition(declared(name).kind == .bool, "--\(name) is not a switch")
        return switches.contains(name)
    }

    /// True when the flag (switch or value) was given on the command line.
    public func isGiven(_ name: String) -> Bool {
        _ = declared(name)
        return switches.contains(name) || values[name] != nil
    }

    /// The value given on the command line (the last one), ignoring the table's default.
    public func given(_ name: String) -> String? {
        _ = declared(name)
        return values[name]?.last
    }

    /// The value given (the last one), else the table's default, else nil.
    public func string(_ name: String) -> String? {
        values[name]?.last ?? declared(name).defaultValue
    }

    /// Every value of a repeatable flag, in order (the default alone when none was given).
    public func strings(_ name: String) -> [String] {
        values[name] ?? declared(name).defaultValue.map { [$0] } ?? []
    }

    /// The value of a flag that is required or has a default (the table guarantees one).
    public func value(_ name: String) -> String {
        guard let v = string(name) else { preconditionFailure("--\(name) is neither required nor defaulted in the table of strata \(spec.name)") }
        return v
    }

    /// An integer flag's value (given, else the default), or nil.
    public func int(_ name: String) -> Int? {
        guard case .int = declared(name).kind else { preconditionFailure("--\(name) is not an integer flag") }
        return string(name).map { Int($0)! }
    }

    /// An integer flag's value, also checked against a bound known only at run time (e.g. the
    /// model's layer count); out of it, an error in the same words as the table's own check.
    public func int(_ name: String, within range: ClosedRange<Int>) throws -> Int? {
        guard let v = int(name) else { return nil }
        guard range.contains(v) else {
            throw FlagError("--\(name) must be an integer in \(Flag.describe(range.lowerBound, range.upperBound)), got '\(v)'")
        }
        return v
    }

    /// A number flag's value (given, else the default), or nil.
    public func double(_ name: String) -> Double? {
        guard case .double = declared(name).kind else { preconditionFailure("--\(name) is not a number flag") }
        return string(name).map { Double($0)! }
    }

    /// An integer-list flag's values (given, else the default), or nil.
    public func ints(_ name: String) -> [Int]? {
        guard case .intList = declared(name).kind else { preconditionFailure("--\(name) is not an integer-list flag") }
        return string(name).map { $0.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces))! } }
    }
}
