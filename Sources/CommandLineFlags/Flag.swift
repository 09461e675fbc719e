import Foundation

/// One flag of a command, declared once: its name, the type of its value, its default and its help.
/// Parsing (`ParsedArguments`) and `--help` (`CommandSpec.help`) both read this declaration, so the
/// help lists exactly the flags that parse, with the defaults they parse to.
public struct Flag: Sendable {
    /// The type of a flag's value, with the range it must lie in.
    public enum Kind: Sendable, Equatable {
        /// Any text.
        case string
        /// A file or directory path (any non-empty text).
        case path
        /// A whole number in `min...max`.
        case int(min: Int, max: Int)
        /// A finite number within `bounds`.
        case double(Bounds)
        /// A switch: present or not, takes no value.
        case bool
        /// One of the listed words.
        case choice([String])
        /// A comma-separated list of whole numbers, each `min` or more.
        case intList(min: Int)
    }

    /// Where a floating-point value must lie.
    public enum Bounds: Sendable, Equatable {
        case any
        /// `value >= x`
        case atLeast(Double)
        /// `value > x`
        case above(Double)
        /// `lo <= value <= hi`
        case closed(Double, Double)
        /// `lo <= value < hi`
        case halfOpen(Double, Double)
        /// `lo < value <= hi` (e.g. a timeout: more than 0, at most a day)
        case aboveAtMost(Double, Double)
    }

    /// The name without the leading `--`.
    public let name: String
    public let kind: Kind
    /// The placeholder for the value in help (`FILE`, `N`); empty for a switch.
    public let metavar: String
    /// The default as it would be typed (parsed like a user's value when the flag is absent).
    public let defaultValue: String?
    /// A default worked out at run time, described for help (e.g. "all cores"); the flag then parses to nil.
    public let defaultNote: String?
    public let help: String
    /// Parsing fails when a required flag is absent.
    public let required: Bool
    /// May be given several times (every value is kept); otherwise the last value wins.
    public let repeatable: Bool

    public init(_ name: String, _ kind: Kind, metavar: String, default defaultValue: String? = nil, defaultNote: String? = nil,
                required: Bool = false, repeatable: Bool = false, help: String) {
        self.name = name; self.kind = kind; self.metavar = metavar
        self.defaultValue = defaultValue; self.defaultNote = defaultNote
        self.required = required; self.repeatable = repeatable; self.help = help
    }

    // MARK: declarations, one per kind

    public static func string(_ name: String, _ metavar: String = "TEXT", default value: String? = nil, defaultNote: String? = nil,
                              required: Bool = false, repeatable: Bool = false, help: String) -> Flag {
        Flag(name, .string, metavar: metavar, default: value, defaultNote: defaultNote, required: required, repeatable: repeatable, help: help)
    }

    public static func path(_ name: String, _ metavar: String = "PATH", default value: String? = nil, defaultNote: String? = nil,
                            required: Bool = false, repeatable: Bool = false, help: String) -> Flag {
        Flag(name, .path, metavar: metavar, default: value, defaultNote: defaultNote, required: required, repeatable: repeatable, help: help)
    }

    public static func int(_ name: String, _ metavar: String = "N", default value: Int? = nil, defaultNote: String? = nil,
                           min: Int = .min, max: Int = .max, required: Bool = false, help: String) -> Flag {
        Flag(name, .int(min: min, max: max), metavar: metavar, default: value.map(String.init), defaultNote: defaultNote,
             required: required, help: help)
    }

    public static func double(_ name: String, _ metavar: String = "X", default value: Double? = nil, defaultNote: String? = nil,
                              _ bounds: Bounds = .any, required: Bool = false, help: String) -> Flag {
        Flag(name, .double(bounds), metavar: metavar, default: value.map(formatNumber), defaultNote: defaultNote,
             required: required, help: help)
    }

    public static func bool(_ name: String, help: String) -> Flag {
        Flag(name, .bool, metavar: "", help: help)
    }

    public static func choice(_ name: String, _ values: [String], default value: String? = nil, defaultNote: String? = nil,
                              required: Bool = false, help: String) -> Flag {
        Flag(name, .choice(values), metavar: values.joined(separator: "|"), default: value, defaultNote: defaultNote,
             required: required, help: help)
    }

    public static func intList(_ name: String, _ metavar: String = "N,N,...", default value: String? = nil, min: Int = 1,
                               help: String) -> Flag {
        Flag(name, .intList(min: min), metavar: metavar, default: value, help: help)
    }

    // MARK: checking a value

    /// Why `raw` is not a valid value of this flag (a sentence naming the flag and the value), or nil.
    public func problem(with raw: String) -> String? {
        switch kind {
        case .string, .bool:
            return nil
        case .path:
            return raw.isEmpty ? "--\(name) needs a non-empty path" : nil
        case .int(let lo, let hi):
            guard let v = Int(raw), v >= lo, v <= hi else { return "--\(name) must be an integer in \(Flag.describe(lo, hi)), got '\(raw)'" }
            return nil
        case .double(let bounds):
            guard let v = Double(raw), v.isFinite else { return "--\(name) must be a number, got '\(raw)'" }
            let ok: Bool, need: String
            switch bounds {
            case .any: ok = true; need = ""
            case .atLeast(let lo): ok = v >= lo; need = "\(formatNumber(lo)) or more"
            case .above(let lo): ok = v > lo; need = "more than \(formatNumber(lo))"
            case .closed(let lo, let hi): ok = v >= lo && v <= hi; need = "in [\(formatNumber(lo)), \(formatNumber(hi))]"
            case .halfOpen(let lo, let hi): ok = v >= lo && v < hi; need = "in [\(formatNumber(lo)), \(formatNumber(hi)))"
            case .aboveAtMost(let lo, let hi): ok = v > lo && v <= hi; need = "more than \(formatNumber(lo)) and at most \(formatNumber(hi))"
            }
            return ok ? nil : "--\(name) must be \(need), got '\(raw)'"
        case .choice(let values):
            return values.contains(raw) ? nil : "--\(name) must be \(Flag.listing(values)), got '\(raw)'"
        case .intList(let lo):
            let parts = raw.split(separator: ",", omittingEmptySubsequences: false)
            let ok = !raw.isEmpty && parts.allSatisfy { Int($0.trimmingCharacters(in: .whitespaces)).map { $0 >= lo } ?? false }
            return ok ? nil : "--\(name) must be a comma-separated list of integers \(lo) or more, got '\(raw)'"
        }
    }

    /// "1...4096", "1...", "...5" or "any".
    static func describe(_ lo: Int, _ hi: Int) -> String {
        (lo == .min ? "" : String(lo)) + "..." + (hi == .max ? "" : String(hi))
    }

    /// "a, b or c".
    static func listing(_ values: [String]) -> String {
        values.count < 2 ? values.joined() : values.dropLast().joined(separator: ", ") + " or " + values.last!
    }
}

/// A number as a person writes it: 10 rather than 10.0, 0.1, 2e-5 rather than 2e-05.
func formatNumber(_ v: Double) -> String {
    if v.rounded() == v, abs(v) < 1e15 { return String(Int(v)) }
    return String(v).replacingOccurrences(of: "e-0", with: "e-")
}

/// A positional argument (words after the flags that are not flags).
public struct Positional: Sendable {
    /// The placeholder in help (`JOB_ID`, `QUERY`).
    public let name: String
    public let help: String
    /// Parsing fails when a required positional is absent.
    public let required: Bool
    /// Takes every remaining word (the command checks how many it wants).
    public let variadic: Bool

    public init(_ name: String, required: Bool = true, variadic: Bool = false, help: String) {
        self.name = name; self.required = required; self.variadic = variadic; self.help = help
    }
}
