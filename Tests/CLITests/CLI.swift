import Foundation
import XCTest

/// Runs the built `strata` binary (next to the test bundle in the build products folder).
enum CLI {
    static var binary: URL {
        var dir = Bundle.main.bundleURL
        for _ in 0..<3 {
            if FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("strata").path) { break }
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("strata")
    }

    /// The repository root, from this file's location.
    static var repo: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    static var modelFixtures: URL { repo.appendingPathComponent("Tests/ModelTests/Fixtures") }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    /// Runs `strata args...` to completion.
    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Both pipes drain at once: reading one to its end first would deadlock once the child
        // fills the other pipe's buffer (64 KiB) and blocks writing to it.
        final class Box: @unchecked Sendable { var data = Data() }
        let e = Box()
        let drained = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { e.data = err.fileHandleForReading.readDataToEndOfFile(); drained.signal() }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e.data, as: UTF8.self))
    }

    static func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("strata-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }
}
