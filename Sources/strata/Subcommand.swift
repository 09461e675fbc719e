/// One `strata` subcommand. Each lives in its own file named `<Name>Command.swift`.
protocol Subcommand {
    /// The word after `strata` (e.g. "embed").
    static var name: String { get }
    /// One line for `strata --help`.
    static var summary: String { get }
    /// Full usage text printed by `strata <name> --help`.
    static var usage: String { get }
    /// Runs the command; throws `CLIError` for bad flags or input.
    static func run(_ args: [String]) throws
}
