enum ScoreCommand: Subcommand {
    static let name = "score"
    static let summary = "(being written)"
    static let usage = "(being written)"
    static func run(_ args: [String]) throws { throw CLIError("not built yet") }
}
