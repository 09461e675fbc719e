import Foundation

/// A command that is a group of actions (`strata job embed|status|cancel`): its summary for the
/// command list, and text for `strata job --help` after the actions' usage lines.
public struct CommandGroup: Sendable {
    public let name: String
    public let summary: String
    public let details: String
    public init(_ name: String, summary: String, details: String = "") {
        self.name = name; self.summary = summary; self.details = details
    }
}

/// Every command of a program: resolving a command line to its command, and the help that lists them.
public struct CommandTable: Sendable {
    public let program: String
    public let about: String
    /// Commands in the order the command list shows them; an action's name is "group action".
    public let commands: [CommandSpec]
    public let groups: [CommandGroup]

    public init(program: String, about: String, commands: [CommandSpec], groups: [CommandGroup]) {
        self.program = program; self.about = about; self.commands = commands; self.groups = groups
        var seen = Set<String>()
        for c in commands { precondition(seen.insert(c.name).inserted, "\(program) \(c.name) declared twice") }
        for c in commands where c.name.contains(" ") {
            let group = String(c.name.prefix { $0 != " " })
            precondition(groups.contains { $0.name == group }, "\(program) \(c.name): no group '\(group)'")
        }
    }

    /// What a command line names.
    public enum Resolution {
        /// A command, and the arguments after its name.
        case command(CommandSpec, [String])
        /// A group without (or before) its action word, and the arguments after the group's name.
        case group(CommandGroup, [String])
    }

    /// The command (or group) `args` starts with; an unknown name is an error with a suggestion.
    /// A group followed by a word that is not one of its actions resolves to the group.
    public func resolve(_ args: [String]) throws -> Resolution {
        guard let first = args.first else { throw FlagError("no command given") }
        if let g = groups.first(where: { $0.name == first }) {
            if args.count > 1, let c = commands.first(where: { $0.name == "\(first) \(args[1])" }) {
                return .command(c, Array(args.dropFirst(2)))
            }
            return .group(g, Array(args.dropFirst()))
        }
        if let c = commands.first(where: { $0.name == first }) { return .command(c, Array(args.dropFirst())) }
        let hint = closestWord(to: first, among: topLevelNames).map { " (did you mean '\($0)'?)" } ?? ""
        throw FlagError("unknown command '\(first)'\(hint)")
    }

    /// The actions of group `name`, in table order.
    public func actions(of name: String) -> [CommandSpec] { commands.filter { $0.name.hasPrefix(name + " ") } }

    /// The first words of the commands, in table order, each once.
    public var topLevelNames: [String] {
        var names: [String] = []
        for c in commands {
            let w = String(c.name.prefix { $0 != " " })
            if !names.contains(w) { names.append(w) }
        }
        return names
    }

    /// `program --help`: every command with its summary.
    public var help: String {
        var s = "\(program): \(about)\n\nusage: \(program) <command> [flags]   (\(program) help <command>, or \(program) <command> --help, for details)\n\ncommands:\n"
        for w in topLevelNames {
            let summary = groups.first { $0.name == w }?.summary ?? commands.first { $0.name == w }!.summary
            s += wrapWords(words(summary), firstPrefix: "  " + w.padding(toLength: 14, withPad: " ", startingAt: 0), prefix: String(repeating: " ", count: 16),
                           width: CommandSpec.width) + "\n"
        }
        return s
    }

    /// `program GROUP --help`: each action's usage line and summary, then the group's details.
    public func help(group g: CommandGroup) -> String {
        let acts = actions(of: g.name)
        var s = acts.map { $0.usageLine.replacingOccurrences(of: "usage: ", with: "       ") }.joined(separator: "\n")
        s = "usage:" + s.dropFirst("usage:".count) + "\n\n" + g.summary + "\n\n"
        for a in acts { s += wrapWords(words(a.summary), firstPrefix: "  " + a.name.padding(toLength: 22, withPad: " ", startingAt: 0),
                                       prefix: String(repeating: " ", count: 24), width: CommandSpec.width) + "\n" }
        if !g.details.isEmpty { s += "\n" + g.details + (g.details.hasSuffix("\n") ? "" : "\n") }
        s += "\n`\(program) \(g.name) ACTION --help` lists the flags of each action.\n"
        return s
    }

    /// The help a command line asks for (`help embed`, `help job status`), or an error naming what is unknown.
    public func help(for words: [String]) throws -> String {
        guard !words.isEmpty else { return help }
        switch try resolve(words) {
        case .command(let c, let rest):
            if let extra = rest.first { throw FlagError("no help for '\(c.name) \(extra)': `\(c.name)` has no actions") }
            return c.help
        case .group(let g, let rest):
            if let extra = rest.first { throw FlagError("unknown action '\(extra)' of \(g.name) (actions: \(actions(of: g.name).map { String($0.name.dropFirst(g.name.count + 1)) }.joined(separator: ", ")))") }
            return help(group: g)
        }
    }
}
