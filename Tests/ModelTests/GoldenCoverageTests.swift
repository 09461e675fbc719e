import Foundation
import XCTest

/// The golden tests check every model whose directory is on this machine; these tests make the
/// rest visible: a missing model is a skip with its reason (or a failure when STRATA_SHARED names
/// the shared folder explicitly), and a cross encoder under the shared folder that has no goldens
/// fails (rerun scripts/make-goldens).
final class GoldenCoverageTests: XCTestCase {
    func testEveryGoldenModelIsOnThisMachine() throws {
        let missing = try Goldens.load().entries().filter { Goldens.directory(of: $0.entry) == nil }.map(\.name)
        guard !missing.isEmpty else { return }
        let why = "golden models not on this machine, so not checked: \(missing.joined(separator: ", ")) (see Fixtures/README.md)"
        if ProcessInfo.processInfo.environment["STRATA_SHARED"] != nil { XCTFail("STRATA_SHARED is set, yet \(why)"); return }
        throw XCTSkip(why)
    }

    func testEverySharedCrossEncoderHasGoldens() throws {
        let env = ProcessInfo.processInfo.environment
        let shared = env["STRATA_SHARED"].map { URL(fileURLWithPath: $0) } ?? Goldens.sharedDefault
        let models = shared.appendingPathComponent("models")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: models.path) else {
            if env["STRATA_SHARED"] != nil { XCTFail("STRATA_SHARED is set but \(models.path) cannot be listed"); return }
            throw XCTSkip("no shared models folder at \(models.path): no shared cross encoder to check")
        }
        let checked = Set(((try Goldens.load().json["shared-ce"]) as? [String: Any] ?? [:]).keys)
        for name in names.sorted() {
            let config = models.appendingPathComponent(name).appendingPathComponent("config.json")
            guard let data = FileManager.default.contents(atPath: config.path),
                  let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  (obj["architectures"] as? [String] ?? []).contains("BertForSequenceClassification") else { continue }
            XCTAssertTrue(checked.contains(name), "cross encoder \(name) in \(models.path) has no goldens: run scripts/make-goldens")
        }
    }
}
