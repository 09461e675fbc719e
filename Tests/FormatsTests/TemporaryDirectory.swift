import Foundation
import XCTest

extension XCTestCase {
    /// A fresh, empty directory `<system temp>/<prefix>-<UUID>` for this test, removed with all it
    /// holds when the test ends (a teardown block, so a failing test cleans up too).
    func makeTemporaryDirectory(_ prefix: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        return dir
    }
}
