import Foundation
import Cluster

/// `strata keys gen`: CURVE key files for an encrypted, authenticated cluster.
enum KeysCommand: Subcommand {
    static let name = "keys"
    static let summary = "generate CURVE keys for the cluster (strata keys gen --out DIR)"
    static let usage = """
    usage: strata keys gen --out DIR

      Writes server.pub/server.key (the coordinator), client.pub/client.key (workers and clients)
      and authorized_clients (the public keys the coordinator accepts, one a line; add more to admit
      other key pairs). Give --keys DIR to coordinator, worker, search, job and cluster commands.
    """

    static func run(_ args: [String]) throws {
        guard args.first == "gen" else { throw CLIError("the only keys action is `gen` (strata keys --help)", usage: true) }
        let a = try Arguments(Array(args.dropFirst()), command: "keys gen", options: ["out"])
        let out = try a.required("out")
        try CurveKeys.generate(into: URL(fileURLWithPath: out))
        print("wrote CURVE keys to \(out): server.pub server.key client.pub client.key authorized_clients")
    }
}
