import XCTest

/// The committed protoc-c output must match what scripts/gen-proto makes from proto/strata.proto now.
final class GeneratedCodeTests: XCTestCase {
    func testCommittedProtobufCCodeIsFresh() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("scripts/gen-proto").path
        guard FileManager.default.fileExists(atPath: script) else { throw XCTSkip("scripts/gen-proto not found at \(script)") }
        let which = Process()
        which.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        which.arguments = ["sh", "-c", "command -v protoc-c"]
        which.standardOutput = FileHandle.nullDevice
        try which.run(); which.waitUntilExit()
        guard which.terminationStatus == 0 else { throw XCTSkip("protoc-c is not installed (Debian: protobuf-c-compiler); cannot check the generated code") }

        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("strata-gen-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: script)
        gen.arguments = [tmp.path]
        try gen.run(); gen.waitUntilExit()
        XCTAssertEqual(gen.terminationStatus, 0, "scripts/gen-proto failed")
        let pairs = [("strata.pb-c.c", "Sources/CStrataProto/strata.pb-c.c"),
                     ("include/strata.pb-c.h", "Sources/CStrataProto/include/strata.pb-c.h"),
                     ("strata.desc", "cluster/strata.desc")]
        for (fresh, committed) in pairs {
            let a = try Data(contentsOf: tmp.appendingPathComponent(fresh))
            let b = try Data(contentsOf: root.appendingPathComponent(committed))
            XCTAssertEqual(a, b, "\(committed) is stale: run scripts/gen-proto and commit the result")
        }
    }
}
