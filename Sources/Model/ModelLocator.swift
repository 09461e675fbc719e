import Foundation

/// Resolves a model argument to a directory: a path to a model directory, a name under
/// `$STRATA_MODELS` (default ~/.cache/strata/models), or a Hugging Face model id present in the
/// local hub cache (`$HF_HUB_CACHE`, `$HF_HOME/hub` or ~/.cache/huggingface/hub, layout
/// `models--org--name/snapshots/<revision>/`).
public enum ModelLocator {
    /// The Strata model cache directory.
    public static var modelsDirectory: URL {
        if let s = ProcessInfo.processInfo.environment["STRATA_MODELS"], !s.isEmpty { return URL(fileURLWithPath: s) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/strata/models")
    }

    /// The default dual encoder, installed by scripts/setup.
    public static var defaultDualEncoder: URL { modelsDirectory.appendingPathComponent("all-MiniLM-L6-v2") }

    public static func resolve(_ name: String) throws -> URL {
        let fm = FileManager.default
        func isModel(_ u: URL) -> Bool { fm.fileExists(atPath: u.appendingPathComponent("config.json").path) }
        let direct = URL(fileURLWithPath: (name as NSString).expandingTildeInPath)
        if isModel(direct) { return direct }
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: direct.path, isDirectory: &isDir), isDir.boolValue {
            throw ModelError.fileMissing(direct.appendingPathComponent("config.json").path)
        }
        let last = name.split(separator: "/").last.map(String.init) ?? name
        for candidate in [modelsDirectory.appendingPathComponent(name), modelsDirectory.appendingPathComponent(last)] where isModel(candidate) {
            return candidate
        }
        let env = ProcessInfo.processInfo.environment
        let hub: URL
        if let c = env["HF_HUB_CACHE"], !c.isEmpty { hub = URL(fileURLWithPath: c) }
        else if let h = env["HF_HOME"], !h.isEmpty { hub = URL(fileURLWithPath: h).appendingPathComponent("hub") }
        else { hub = fm.homeDirectoryForCurrentUser.appendingPathComponent(".cache/huggingface/hub") }
        let repo = hub.appendingPathComponent("models--" + name.replacingOccurrences(of: "/", with: "--"))
        let snapshots = repo.appendingPathComponent("snapshots")
        if let ref = try? String(contentsOf: repo.appendingPathComponent("refs/main"), encoding: .utf8) {
            let snap = snapshots.appendingPathComponent(ref.trimmingCharacters(in: .whitespacesAndNewlines))
            if isModel(snap) { return snap }
        }
        if let revs = try? fm.contentsOfDirectory(atPath: snapshots.path) {
            for r in revs.sorted() where isModel(snapshots.appendingPathComponent(r)) { return snapshots.appendingPathComponent(r) }
        }
        throw ModelError.unknownModel(name)
    }
}
