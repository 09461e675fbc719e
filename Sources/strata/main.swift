import Foundation
import CommandLineFlags

/// Every command, in the order `strata --help` lists them; the actions of a group follow each other.
let commands: [Subcommand.Type] = [
    EmbedCommand.self,
    ScoreCommand.self,
    BenchEncoderCommand.self, BenchKernelsCommand.self, BenchGemmCommand.self, BenchSearchCommand.self, BenchClusterCommand.self, BenchTrainCommand.self,
    DataCommand.DebianPackages.self,
    EvalCommand.self,
    LayersCommand.self,
    InfuseCommand.self,
    TrainCECommand.self,
    MineCommand.self,
    CoordinatorCommand.self,
    WorkerCommand.self,
    JobEmbedCommand.self, JobStatusCommand.self, JobCancelCommand.self,
    SearchCommand.self,
    ClusterUpCommand.self, ClusterStatusCommand.self, ClusterBenchCommand.self,
    KeysCommand.Gen.self,
]

let table = CommandTable(program: "strata", about: "cross-encoder early-layer embeddings, dual encoders and a retrieval cluster",
                         commands: commands.map { $0.spec },
                         groups: [BenchCommand.group, DataCommand.group, JobCommand.group, ClusterCommand.group, KeysCommand.group])

/// Prints `strata NAME: message` on stderr and exits with `status`.
func fail(_ name: String, _ message: String, status: Int32) -> Never {
    note("strata\(name.isEmpty ? "" : " " + name): \(message)")
    exit(status)
}

let argv = Array(CommandLine.arguments.dropFirst())
guard let first = argv.first, first != "--help", first != "-h", first != "help" else {
    do { print(try table.help(for: Array(argv.dropFirst())), terminator: "") } catch { fail("help", "\(error)", status: 2) }
    exit(argv.isEmpty ? 2 : 0)
}
let resolution: CommandTable.Resolution
do { resolution = try table.resolve(argv) } catch {
    note("strata: \(error)\n")
    note(table.help)
    exit(2)
}
switch resolution {
case .group(let group, let rest):
    if wantsHelp(rest) { print(table.help(group: group), terminator: ""); exit(0) }
    let actions = table.actions(of: group.name).map { String($0.name.dropFirst(group.name.count + 1)) }
    guard let word = rest.first else {
        fail(group.name, "name an action: \(actions.joined(separator: ", ")); see `strata \(group.name) --help`", status: 2)
    }
    let hint = closestWord(to: word, among: actions).map { "; did you mean '\($0)'?" } ?? ""
    fail(group.name, "unknown action '\(word)' (actions: \(actions.joined(separator: ", "))\(hint))", status: 2)
case .command(let spec, let rest):
    if wantsHelp(rest) { print(spec.help, terminator: ""); exit(0) }
    let command = commands.first { $0.spec.name == spec.name }!
    do {
        try command.run(try ParsedArguments(rest, spec: spec))
    } catch let e as FlagError {
        fail(spec.name, e.description, status: 2)
    } catch let e as CLIError {
        fail(spec.name, e.description, status: e.isUsage ? 2 : 1)
    } catch {
        fail(spec.name, describeError(error), status: 1)
    }
}
