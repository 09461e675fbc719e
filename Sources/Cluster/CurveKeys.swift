import Foundation
import ZMQ

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
            try (v + "\n").write(to: url, atomically: true, encoding: .utf8)
            if secret { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path) }
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
