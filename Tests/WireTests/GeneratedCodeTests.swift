import XCTest

/// The committed generated code (protoc-c's C, the descriptor set, and Wire's Swift mirror) must match
/// what scripts/gen-proto makes from proto/strata.proto now.
final class GeneratedCodeTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func testCommittedGeneratedCodeIsFresh() throws {
        let tmp = try Self.generate()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let pairs = [("strata.pb-c.c", "Sources/CStrataProto/strata.pb-c.c"),
                     ("include/strata.pb-c.h", "Sources/CStrataProto/include/strata.pb-c.h"),
                     ("strata.desc", "cluster/strata.desc")]
        for (fresh, committed) in pairs {
            let a = try Data(contentsOf: tmp.appendingPathComponent(fresh))
            let b = try Data(contentsOf: Self.root.appendingPathComponent(committed))
            XCTAssertEqual(a, b, "\(committed) is stale: run scripts/gen-proto and commit the result")
        }
    }

    /// Sources/Wire/Generated holds exactly the files the generator writes, byte for byte.
    func testCommittedSwiftMirrorIsFresh() throws {
        let tmp = try Self.generate()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let fm = FileManager.default
        let freshDir = tmp.appendingPathComponent("Wire"), committedDir = Self.root.appendingPathComponent("Sources/Wire/Generated")
        let fresh = try fm.contentsOfDirectory(atPath: freshDir.path).sorted()
        let committed = try fm.contentsOfDirectory(atPath: committedDir.path).sorted()
        XCTAssertGreaterThanOrEqual(fresh.count, 3, "the generator wrote \(fresh)")
        XCTAssertEqual(committed, fresh, "Sources/Wire/Generated has other files than scripts/gen-proto writes: run it and commit the result")
        for name in fresh where committed.contains(name) {
            let a = try Data(contentsOf: freshDir.appendingPathComponent(name))
            let b = try Data(contentsOf: committedDir.appendingPathComponent(name))
            XCTAssertEqual(a, b, "Sources/Wire/Generated/\(name) is stale: run scripts/gen-proto and commit the result")
        }
    }

    /// Runs scripts/gen-proto into a fresh temporary directory (skips when protoc-c or python3 is absent).
    static func generate() throws -> URL {
        let script = root.appendingPathComponent("scripts/gen-proto").path
        guard FileManager.default.fileExists(atPath: script) else { throw XCTSkip("scripts/gen-proto not found at \(script)") }
        for (tool, hint) in [("protoc-c", "Debian: protobuf-c-compiler"), ("python3", "it runs scripts/gen_wire_swift.py")] {
            let which = Process()
            which.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            which.arguments = ["sh", "-c", "command -v \(tool)"]
            which.standardOutput = FileHandle.nullDevice
            try which.run(); which.waitUntilExit()
            guard which.terminationStatus == 0 else { throw XCTSkip("\(tool) is not installed (\(hint)); cannot check the generated code") }
        }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("strata-gen-\(UUID().uuidString)")
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: script)
        gen.arguments = [tmp.path]
        try gen.run(); gen.waitUntilExit()
        guard gen.terminationStatus == 0 else {
            try? FileManager.default.removeItem(at: tmp)
            XCTFail("scripts/gen-proto failed (exit \(gen.terminationStatus))")
            throw CocoaError(.fileWriteUnknown)
        }
        return tmp
    }
}
