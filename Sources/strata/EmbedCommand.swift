enum EmbedCommand: Subcommand {
    static let name = "embed"
    static let summary = "(being written)"
    static let usage = "(being written)"
    static func run(_ args: [String]) throws { throw CLIError("not built yet") }
}
