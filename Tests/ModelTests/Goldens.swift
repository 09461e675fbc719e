import Foundation
import XCTest

/// Reads Tests/ModelTests/Fixtures/goldens.json (written by scripts/make-goldens from the NumPy
/// reference scripts/reference_bert.py) and locates each golden's model directory.
struct Goldens {
    let json: [String: Any]

    static let fixtures: URL = Bundle.module.resourceURL!.appendingPathComponent("Fixtures")

    static func load() throws -> Goldens {
        let data = try Data(contentsOf: fixtures.appendingPathComponent("goldens.json"))
        return Goldens(json: try JSONSerialization.jsonObject(with: data) as! [String: Any])
    }

    /// Every model entry: the fixed ones plus each cross encoder under shared/models.
    func entries() -> [(name: String, entry: [String: Any])] {
        var out: [(String, [String: Any])] = []
        for k in ["tiny-ce", "tiny-de-legacy", "minilm"] { if let e = json[k] as? [String: Any] { out.append((k, e)) } }
        for (k, e) in (json["shared-ce"] as? [String: [String: Any]] ?? [:]).sorted(by: { $0.key < $1.key }) { out.append((k, e)) }
        return out
    }

    /// The entries whose model is on this machine, with its directory; the others are named on
    /// standard output as skipped (the committed tiny checkpoints are always present).
    func present() -> [(name: String, entry: [String: Any], directory: URL)] {
        entries().compactMap { name, entry in
            guard let dir = Goldens.directory(of: entry) else {
                print("ModelTests: skipping golden '\(name)': its model directory is not on this machine (see Fixtures/README.md)")
                return nil
            }
            return (name, entry, dir)
        }
    }

    /// The model directory of an entry, or nil when it is not on this machine.
    static func directory(of entry: [String: Any]) -> URL? {
        let loc = entry["location"] as! [String: String]
        let env = ProcessInfo.processInfo.environment
        let root: URL
        switch loc["root"]! {
        case "fixtures": root = fixtures
        case "STRATA_MODELS":
            root = env["STRATA_MODELS"].map { URL(fileURLWithPath: $0) }
                ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/strata/models")
        default:
            root = env["STRATA_SHARED"].map { URL(fileURLWithPath: $0) } ?? sharedDefault
        }
        let dir = root.appendingPathComponent(loc["path"]!)
        return FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) ? dir : nil
    }

    /// `<repo>/../shared`, found from this source file's location.
    static var sharedDefault: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    }
}

extension Array where Element == Any {
    var floats: [Float] { map { Float(($0 as! NSNumber).doubleValue) } }
    var ints: [Int32] { map { Int32(($0 as! NSNumber).intValue) } }
}

func assertClose(_ a: [Float], _ b: [Float], tol: Float, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(what): length", file: file, line: line)
    var worst: Float = 0, at = 0
    for i in 0..<min(a.count, b.count) where abs(a[i] - b[i]) > worst { worst = abs(a[i] - b[i]); at = i }
    XCTAssertLessThanOrEqual(worst, tol, "\(what): max |diff| \(worst) at \(at) (\(a[at]) vs \(b[at]))", file: file, line: line)
}
