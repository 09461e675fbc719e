import Foundation
import Cluster
import CommandLineFlags

/// `strata keys gen`: CURVE key files for an encrypted, authenticated cluster.
enum KeysCommand {
    static let group = CommandGroup("keys", summary: "generate CURVE keys for the cluster (strata keys gen --out DIR)")

    enum Gen: Subcommand {
        static let spec = CommandSpec("keys gen", summary: "write a CURVE key set (server, worker and client key pairs and the allow lists)", flags: [
            .path("out", "DIR", required: true, help: "the key directory (made mode 0700; secret files 0600, whatever the umask)"),
            .bool("force", help: "replace an existing key set in DIR (every process then needs the new keys)"),
        ], details: """
          Writes into DIR:
            server.pub, server.key   the coordinator (clients and workers need server.pub)
            worker.pub, worker.key   workers (the coordinator accepts worker messages only from these)
            client.pub, client.key   clients (search, jobs, status: only these)
            authorized_workers, authorized_clients
                                     the public keys the coordinator accepts in each role, one a line;
                                     add the .pub of other key pairs to admit them
          Give --keys DIR to coordinator, worker, search, job and cluster commands (each reads what its
          role needs). An existing key set in DIR is refused unless --force.
        """)

        static func run(_ a: Arguments) throws {
            let out = a.value("out")
            do { try CurveKeys.generate(into: URL(fileURLWithPath: out), force: a.flag("force")) } catch { throw CLIError("\(error)") }
            print("wrote CURVE keys to \(out): " + CurveKeys.fileNames.joined(separator: " "))
        }
    }
}
