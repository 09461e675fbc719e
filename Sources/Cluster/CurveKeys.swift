import Foundation
import ZMQ
#if canImport(Glibc)
import Glibc
#endif

/// CURVE key files (`strata keys gen --out DIR` writes them; each file holds one Z85 key):
/// server.pub, server.key (the coordinator), client.pub, client.key (workers and clients),
/// authorized_clients (public keys the coordinator accepts, one a line).
public struct CurveKeys: Sendable {
    public var serverPublic: String
    public var serverSecret: String?
    public var clientPublic: String?
    public var clientSecret: String?
    public var authorizedClients: [String]

    /// Writes a fresh set of keys into `dir` (secret files mode 0600).
    public static func generate(into dir: URL) throws {
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let s = try Curve.keypair(), c = try Curve.keypair()
        func put(_ name: String, _ v: String, secret: Bool) throws {
            let url = dir.appendingPathComponent(name)
            // A fresh temporary file created with its final mode (0600 for secrets: never readable
            // by others, not even briefly), written, fsync'd, then renamed over `name`.
            let tmp = dir.appendingPathComponent(".\(name).\(getpid()).tmp").path
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, secret ? 0o600 : 0o644)
            guard fd >= 0 else { throw ClusterError("\(tmp): cannot create (errno \(errno))") }
            let bytes = Array((v + "\n").utf8)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let synced = fsync(fd)
            close(fd)
            guard written == bytes.count, synced == 0 else { unlink(tmp); throw ClusterError("\(tmp): write failed (errno \(errno))") }
            guard rename(tmp, url.path) == 0 else { unlink(tmp); throw ClusterError("\(url.path): rename failed (errno \(errno))") }
        }
        try put("server.pub", s.publicKey, secret: false); try put("server.key", s.secretKey, secret: true)
        try put("client.pub", c.publicKey, secret: false); try put("client.key", c.secretKey, secret: true)
        try put("authorized_clients", c.publicKey, secret: false)
    }

    /// Reads the keys present in `dir` (server.pub is required).
    public static func load(from dir: URL) throws -> CurveKeys {
        func get(_ name: String) -> String? {
            (try? String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        guard let sp = get("server.pub") else { throw ClusterError("\(dir.path)/server.pub: missing (run `strata keys gen --out \(dir.path)`)") }
        let auth = (get("authorized_clients") ?? "").split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return CurveKeys(serverPublic: sp, serverSecret: get("server.key"), clientPublic: get("client.pub"), clientSecret: get("client.key"), authorizedClients: auth)
    }

    /// Configures a connecting socket (worker or client) as a CURVE client.
    public func secureClient(_ s: Socket) throws {
        guard let p = clientPublic, let k = clientSecret else { throw ClusterError("client.pub / client.key missing from the key directory") }
        try s.makeCurveClient(serverKey: serverPublic, publicKey: p, secretKey: k)
    }
}
