import Foundation
import Cluster

/// `strata keys gen`: CURVE key files for an encrypted, authenticated cluster.
enum KeysCommand: Subcommand {
    static let name = "keys"
    static let summary = "generate CURVE keys for the cluster (strata keys gen --out DIR)"
    static let usage = """
    usage: strata keys gen --out DIR [--force]

      Writes into DIR (made mode 0700; secret files 0600, whatever the umask):
        server.pub, server.key   the coordinator (clients and workers need server.pub)
        worker.pub, worker.key   workers (the coordinator accepts worker messages only from these)
        client.pub, client.key   clients (search, jobs, status: only these)
        authorized_workers, authorized_clients
                                 the public keys the coordinator accepts in each role, one a line;
                                 add the .pub of other key pairs to admit them
      Give --keys DIR to coordinator, worker, search, job and cluster commands (each reads what its
      role needs). An existing key set in DIR is refused unless --force (which replaces it: every
      process then needs the new keys).
    """

    static func run(_ args: [String]) throws {
        guard args.first == "gen" else { throw CLIError("the only keys action is `gen` (strata keys --help)", usage: true) }
        let a = try Arguments(Array(args.dropFirst()), command: "keys gen", options: ["out"], flags: ["force"])
        let out = try a.required("out")
        do { try CurveKeys.generate(into: URL(fileURLWithPath: out), force: a.flag("force")) } catch { throw CLIError("\(error)") }
        print("wrote CURVE keys to \(out): " + CurveKeys.fileNames.joined(separator: " "))
    }
}
