import Foundation
import Formats
import ZMQ
#if canImport(Glibc)
import Glibc
#endif

/// CURVE key files (`strata keys gen --out DIR` writes them; each key file holds one Z85 key):
/// server.pub, server.key (the coordinator), worker.pub, worker.key (workers), client.pub,
/// client.key (clients), authorized_workers and authorized_clients (the public keys the
/// coordinator accepts in each role, one a line). A deployment gives each process only what it
/// needs: the coordinator server.key and the two lists, a worker server.pub and worker.*, a
/// client server.pub and client.*.
public struct CurveKeys: Sendable {
    public var serverPublic: String
    public var serverSecret: String?
    public var workerPublic: String?
    public var workerSecret: String?
    public var clientPublic: String?
    public var clientSecret: String?
    public var authorizedWorkers: [String]
    public var authorizedClients: [String]

    /// Every file `generate` writes, in the order it writes them.
    public static let fileNames = ["server.pub", "server.key", "worker.pub", "worker.key", "client.pub", "client.key",
                                   "authorized_workers", "authorized_clients"]

    /// Writes a fresh set of keys into `dir`. The directory is made (or set to) mode 0700 and the
    /// secret files are created 0600, whatever the umask. An existing key set (any of the files)
    /// is refused unless `force`.
    public static func generate(into dir: URL, force: Bool = false) throws {
        let fm = FileManager.default
        if !force {
            let present = fileNames.filter { fm.fileExists(atPath: dir.appendingPathComponent($0).path) }
            if !present.isEmpty {
                throw ClusterError("\(dir.path) already holds a key set (\(present.joined(separator: ", "))): not overwriting it (--force replaces it, and every process must then get the new keys)")
            }
        }
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: dir.path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ClusterError("\(dir.path): exists and is not a directory") }
        } else if mkdir(dir.path, 0o700) != 0 {
            // The parents (if missing) are ordinary directories; only the key directory is private.
            try fm.createDirectory(at: dir.deletingLastPathComponent(), withIntermediateDirectories: true)
            guard mkdir(dir.path, 0o700) == 0 || errno == EEXIST else { throw ClusterError("\(dir.path): cannot create (\(String(cString: strerror(errno))))") }
        }
        // mkdir's mode is masked by the umask, and an existing directory keeps its mode: set it.
        guard chmod(dir.path, 0o700) == 0 else { throw ClusterError("\(dir.path): cannot make it private (\(String(cString: strerror(errno))))") }
        let s = try Curve.keypair(), w = try Curve.keypair(), c = try Curve.keypair()
        func put(_ name: String, _ v: String, secret: Bool) throws {
            let url = dir.appendingPathComponent(name)
            // A fresh temporary file created with exactly its final mode (0600 for secrets: never
            // readable by others, not even briefly, whatever the umask), written, fsync'd, then
            // renamed over `name` (`DurableFile`).
            try DurableFile.write(Data((v + "\n").utf8), to: url.path, temporaryPath: dir.appendingPathComponent(".\(name).\(getpid()).tmp").path,
                                  mode: secret ? 0o600 : 0o644, exactMode: true)
        }
        try put("server.pub", s.publicKey, secret: false); try put("server.key", s.secretKey, secret: true)
        try put("worker.pub", w.publicKey, secret: false); try put("worker.key", w.secretKey, secret: true)
        try put("client.pub", c.publicKey, secret: false); try put("client.key", c.secretKey, secret: true)
        try put("authorized_workers", w.publicKey, secret: false)
        try put("authorized_clients", c.publicKey, secret: false)
    }

    /// Reads the keys present in `dir` (server.pub is required; the rest as the role needs).
    public static func load(from dir: URL) throws -> CurveKeys {
        func get(_ name: String) -> String? {
            (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func list(_ name: String) -> [String] {
            (get(name) ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
        }
        guard let sp = get("server.pub") else { throw ClusterError("\(dir.path)/server.pub: missing (run `strata keys gen --out \(dir.path)`)") }
        return CurveKeys(serverPublic: sp, serverSecret: get("server.key"), workerPublic: get("worker.pub"), workerSecret: get("worker.key"),
                         clientPublic: get("client.pub"), clientSecret: get("client.key"),
                         authorizedWorkers: list("authorized_workers"), authorizedClients: list("authorized_clients"))
    }

    /// The coordinator's allow-lists by role (the ZAP User-Id of each), as `ZAPHandler` takes them.
    /// An empty worker list is an error: it would mean a key directory of the old layout, where
    /// workers and clients shared one key (regenerate it with `strata keys gen --force`).
    public func coordinatorRoles() throws -> [String: [String]] {
        guard !authorizedWorkers.isEmpty else {
            throw ClusterError("authorized_workers is missing or empty in the key directory: workers and clients need separate keys (`strata keys gen --out DIR`, or --force to replace an old key set)")
        }
        return [PeerRole.worker.rawValue: authorizedWorkers, PeerRole.client.rawValue: authorizedClients]
    }

    /// Configures a worker's socket as a CURVE client with the worker key pair.
    public func secureWorker(_ s: Socket) throws {
        guard let p = workerPublic, let k = workerSecret else { throw ClusterError("worker.pub / worker.key missing from the key directory (a worker needs server.pub, worker.pub and worker.key)") }
        try s.makeCurveClient(serverKey: serverPublic, publicKey: p, secretKey: k)
    }

    /// Configures a client's socket as a CURVE client with the client key pair.
    public func secureClient(_ s: Socket) throws {
        guard let p = clientPublic, let k = clientSecret else { throw ClusterError("client.pub / client.key missing from the key directory (a client needs server.pub, client.pub and client.key)") }
        try s.makeCurveClient(serverKey: serverPublic, publicKey: p, secretKey: k)
    }
}
