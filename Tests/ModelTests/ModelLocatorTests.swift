import Foundation
import Model
import XCTest

/// `--model` resolves a directory, a name in $STRATA_MODELS, or a Hugging Face hub-cache id.
final class ModelLocatorTests: XCTestCase {
    private var root: URL!
    private let tiny = Goldens.fixtures.appendingPathComponent("tiny-ce")

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("strata-locator-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        unsetenv("HF_HUB_CACHE"); unsetenv("STRATA_MODELS")
        try? FileManager.default.removeItem(at: root)
    }

    func testHubCacheIdResolvesThroughRefsMain() throws {
        let repo = root.appendingPathComponent("hub/models--someone--tiny-ce")
        let snap = repo.appendingPathComponent("snapshots/0123abcd")
        try FileManager.default.createDirectory(at: snap.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: snap, withDestinationURL: tiny)
        try FileManager.default.createDirectory(at: repo.appendingPathComponent("refs"), withIntermediateDirectories: true)
        try "0123abcd".write(to: repo.appendingPathComponent("refs/main"), atomically: true, encoding: .utf8)
        setenv("HF_HUB_CACHE", root.appendingPathComponent("hub").path, 1)
        setenv("STRATA_MODELS", root.appendingPathComponent("empty").path, 1)
        XCTAssertEqual(try ModelLocator.resolve("someone/tiny-ce").path, snap.path)
        XCTAssertEqual(try TextEncoder.load("someone/tiny-ce").kind, .crossEncoder)
    }

    func testNameInModelCacheAndUnknownModel() throws {
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("my-ce"), withDestinationURL: tiny)
        setenv("STRATA_MODELS", root.path, 1)
        setenv("HF_HUB_CACHE", root.appendingPathComponent("no-hub").path, 1)
        XCTAssertEqual(try ModelLocator.resolve("my-ce").path, root.appendingPathComponent("my-ce").path)
        XCTAssertThrowsError(try ModelLocator.resolve("nobody/nothing")) { e in
            XCTAssertEqual(e as? ModelError, .unknownModel("nobody/nothing"))
        }
    }

    func testDirectoryWithoutConfigNamesTheMissingFile() throws {
        XCTAssertThrowsError(try ModelLocator.resolve(root.path)) { e in
            XCTAssertEqual(e as? ModelError, .fileMissing(root.appendingPathComponent("config.json").path))
        }
    }
}
