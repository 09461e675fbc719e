import CommandLineFlags

/// One `strata` command (or one action of a command group, such as `job embed`). Each lives in a
/// file named after it; its `spec` is the one table from which both its parsing and its `--help` come.
protocol Subcommand {
    /// The name, summary, flags (type, default, help) and positionals of the command.
    static var spec: CommandSpec { get }
    /// Runs the command on arguments already checked against `spec`; throws `CLIError` for bad input.
    static func run(_ a: Arguments) throws
}
