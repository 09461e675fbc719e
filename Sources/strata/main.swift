import Foundation

/// Every subcommand, in the order `strata --help` lists them.
let subcommands: [Subcommand.Type] = [
    EmbedCommand.self,
    ScoreCommand.self,
    BenchCommand.self,
    DataCommand.self,
    EvalCommand.self,
    LayersCommand.self,
    InfuseCommand.self,
    TrainCECommand.self,
    MineCommand.self,
    CoordinatorCommand.self,
    WorkerCommand.self,
    JobCommand.self,
    SearchCommand.self,
    ClusterCommand.self,
    KeysCommand.self,
]

func topLevelUsage() -> String {
    var s = "strata: cross-encoder early-layer embeddings, dual encoders and a retrieval cluster\n\n"
    s += "usage: strata <command> [flags]   (strata <command> --help for details)\n\ncommands:\n"
    for c in subcommands { s += "  " + c.name.padding(toLength: 14, withPad: " ", startingAt: 0) + c.summary + "\n" }
    return s
}

let argv = Array(CommandLine.arguments.dropFirst())
guard let first = argv.first, first != "--help", first != "-h", first != "help" else {
    print(topLevelUsage(), terminator: "")
    exit(argv.isEmpty ? 2 : 0)
}
guard let command = subcommands.first(where: { $0.name == first }) else {
    note("strata: unknown command '\(first)'\n")
    note(topLevelUsage())
    exit(2)
}
let rest = Array(argv.dropFirst())
if wantsHelp(rest) {
    print(command.usage)
    exit(0)
}
do {
    try command.run(rest)
} catch let e as CLIError {
    note("strata \(command.name): \(e.description)")
    exit(e.isUsage ? 2 : 1)
} catch {
    note("strata \(command.name): \(describeError(error))")
    exit(1)
}
