import Foundation

/// One command's declaration: its name, a one-line summary, its flags and positionals, and free
/// text for its help. `ParsedArguments` parses against it and `help` renders it.
public struct CommandSpec: Sendable {
    /// The words after the program name: "embed", or "job embed" for an action of a group.
    public let name: String
    /// One line, shown in the command list and under the usage line.
    public let summary: String
    public let flags: [Flag]
    public let positionals: [Positional]
    /// Paragraphs printed after the flag list, as written (what the command does, file formats).
    public let details: String

    public init(_ name: String, summary: String, flags: [Flag], positionals: [Positional] = [], details: String = "") {
        self.name = name; self.summary = summary; self.flags = flags; self.positionals = positionals; self.details = details
    }

    /// The flag called `name` (without `--`), if the table has it.
    public func flag(named name: String) -> Flag? { flags.first { $0.name == name } }

    /// The declared flag nearest to a mistyped `name`: a prefix of it, or a few edits away.
    public func closestFlag(to name: String) -> String? {
        closestWord(to: name, among: flags.map(\.name))
    }

    /// Traps on a table that contradicts itself: a name twice, a default its own kind refuses, a
    /// required flag with a default, a required positional after an optional one.
    public func validate() {
        var seen = Set<String>()
        for f in flags {
            precondition(seen.insert(f.name).inserted, "strata \(name): --\(f.name) declared twice")
            precondition(!f.name.hasPrefix("-") && !f.name.isEmpty && !f.name.contains("="), "strata \(name): bad flag name '\(f.name)'")
            if let d = f.defaultValue { precondition(f.problem(with: d) == nil, "strata \(name): default of --\(f.name): \(f.problem(with: d)!)") }
            precondition(!(f.required && f.defaultValue != nil), "strata \(name): --\(f.name) is required and has a default")
        }
        var optionalSeen = false
        for p in positionals {
            precondition(!(p.required && optionalSeen), "strata \(name): required \(p.name) after an optional positional")
            optionalSeen = optionalSeen || !p.required
        }
    }

    // MARK: help

    /// Lines are wrapped to this width.
    public static let width = 100

    /// The synopsis: `strata NAME` with the required flags, then the optional ones in brackets,
    /// then the positionals; wrapped under the command name.
    public var usageLine: String {
        var parts: [String] = []
        for f in flags where f.required { parts.append("--\(f.name) \(f.metavar)") }
        for f in flags where !f.required { parts.append(f.kind == .bool ? "[--\(f.name)]" : "[--\(f.name) \(f.metavar)]") }
        for p in positionals {
            let word = p.variadic ? "\(p.name)..." : p.name
            parts.append(p.required ? word : "[\(word)]")
        }
        let head = "usage: strata \(name)"
        return wrapWords(parts, firstPrefix: head + " ", prefix: String(repeating: " ", count: head.count + 1), width: Self.width)
    }

    /// The full help of `strata NAME --help`: usage, summary, one entry per flag (with its default,
    /// or "required"), the positionals, then the details.
    public var help: String {
        var s = usageLine + "\n\n" + summary + "\n"
        let entries: [(String, String)] = flags.map { f in
            let left = "--\(f.name)" + (f.metavar.isEmpty ? "" : " \(f.metavar)")
            var right = f.help
            if f.required { right += " (required)" }
            if let d = f.defaultValue { right += " (default \(d))" } else if let n = f.defaultNote { right += " (default: \(n))" }
            if f.repeatable { right += " (may be repeated)" }
            return (left, right)
        } + positionals.map { ($0.name, $0.help) }
        if !entries.isEmpty {
            s += "\n"
            let column = min(28, (entries.map(\.0.count).max() ?? 0) + 4)
            for (left, right) in entries {
                let pad = String(repeating: " ", count: column)
                let first = "  " + left
                if first.count + 2 <= column {
                    s += wrapWords(words(right), firstPrefix: first.padding(toLength: column, withPad: " ", startingAt: 0), prefix: pad, width: Self.width) + "\n"
                } else {
                    s += first + "\n" + wrapWords(words(right), firstPrefix: pad, prefix: pad, width: Self.width) + "\n"
                }
            }
        }
        if !details.isEmpty { s += "\n" + details + (details.hasSuffix("\n") ? "" : "\n") }
        return s
    }
}

/// Splits help text into words (any whitespace separates).
func words(_ text: String) -> [String] { text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init) }

/// Joins `words` into lines of at most `width` characters (a longer word gets a line to itself).
func wrapWords(_ words: [String], firstPrefix: String, prefix: String, width: Int) -> String {
    var lines: [String] = []
    var line = firstPrefix
    var empty = true
    for w in words {
        if !empty && line.count + 1 + w.count > width {
            lines.append(line)
            line = prefix + w
        } else {
            line += (empty ? "" : " ") + w
        }
        empty = false
    }
    lines.append(line)
    return lines.map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }.joined(separator: "\n")
}

/// The word of `candidates` nearest to `word`: one it is a prefix of (or that is a prefix of it),
/// else the fewest edits when that is at most a third of the word (at least 2).
public func closestWord(to word: String, among candidates: [String]) -> String? {
    guard !word.isEmpty else { return nil }
    if let p = candidates.first(where: { $0.hasPrefix(word) || (word.hasPrefix($0) && $0.count >= 3) }) { return p }
    let limit = max(2, word.count / 3)
    let scored = candidates.map { ($0, editDistance(word, $0)) }.filter { $0.1 <= limit }
    return scored.min { $0.1 < $1.1 }?.0
}

/// Levenshtein distance (insertions, deletions, substitutions).
public func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    guard !a.isEmpty else { return b.count }
    guard !b.isEmpty else { return a.count }
    var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}
