import Foundation
import Formats
import Model
import XCTest

/// Finding and running the built `strata` binary for end-to-end tests.
enum Strata {
    /// The `strata` executable beside the test bundle in the build products directory.
    static func binary() throws -> String {
        var dir = Bundle(for: Marker.self).bundleURL
        for _ in 0..<4 {
            let p = dir.appendingPathComponent("strata").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
            dir = dir.deletingLastPathComponent()
        }
        throw XCTSkip("the strata binary is not built next to the test bundle (\(Bundle(for: Marker.self).bundleURL.path)); run `swift build` first")
    }
    final class Marker {}

    static var repoRoot: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    /// Tiny committed checkpoints (Tests/ModelTests/Fixtures), fast even in debug builds.
    static func fixtureModel(_ name: String) throws -> String {
        let p = repoRoot.appendingPathComponent("Tests/ModelTests/Fixtures/\(name)").path
        guard FileManager.default.fileExists(atPath: p + "/model.safetensors") else { throw XCTSkip("fixture model \(p) is absent") }
        return p
    }

    /// Runs `strata args...` to completion; returns (status, stdout, stderr).
    @discardableResult
    static func run(_ args: [String], timeout: Double = 120) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try binary())
        p.arguments = args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        try p.run()
        // drain both pipes while waiting
        final class Box: @unchecked Sendable { var data = Data() }
        let o = Box(), e = Box()
        let g = DispatchGroup()
        g.enter(); DispatchQueue.global().async { o.data = out.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        g.enter(); DispatchQueue.global().async { e.data = err.fileHandleForReading.readDataToEndOfFile(); g.leave() }
        let end = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < end { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit(); XCTFail("strata \(args.prefix(2)) ran past \(timeout) s") }
        p.waitUntilExit()
        g.wait()
        return (p.terminationStatus, String(decoding: o.data, as: UTF8.self), String(decoding: e.data, as: UTF8.self))
    }

    /// Starts `strata args...` in the background, stderr to a log file.
    static func spawn(_ args: [String], log: URL) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try binary())
        p.arguments = args
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let h = try FileHandle(forWritingTo: log)
        p.standardError = h
        p.standardOutput = h
        try p.run()
        return p
    }

    /// Stops `p` with `sig` (SIGKILL after 5 s). Before any SIGKILL, the processes `p` started are
    /// killed too: a killed `cluster up` cannot stop its coordinator and workers, which would outlive
    /// the test.
    static func stop(_ p: Process, signal sig: Int32 = SIGTERM) {
        guard p.isRunning else { return }
        if sig == SIGKILL { killChildren(of: p.processIdentifier) }
        kill(p.processIdentifier, sig)
        let end = Date().addingTimeInterval(5)
        while p.isRunning && Date() < end { usleep(10_000) }
        if p.isRunning { killChildren(of: p.processIdentifier); kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// SIGKILL to every child process of `pid` (`pkill -KILL -P`, by parent id).
    static func killChildren(of pid: pid_t) {
        let k = Process()
        k.executableURL = URL(fileURLWithPath: "/usr/bin/pkill")
        k.arguments = ["-KILL", "-P", String(pid)]
        if (try? k.run()) != nil { k.waitUntilExit() }
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    static func waitFor(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end { if condition() { return true }; usleep(50_000) }
        return condition()
    }

    /// The address `strata cluster up` prints on its `ready ADDR` line in `log`, waiting up to
    /// `seconds`; nil when it never becomes ready.
    static func readyEndpoint(in log: URL, within seconds: Double = 60) -> String? {
        var endpoint: String?
        _ = waitFor(seconds) {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            endpoint = text.split(separator: "\n").first { $0.hasPrefix("ready ") }.map { String($0.dropFirst(6)) }
            return endpoint != nil
        }
        return endpoint
    }
}

/// Reads a float32 [rows, cols] .npy with the Formats module's reader (as `strata embed` writes it).
func readNPY(_ path: String) throws -> (rows: Int, cols: Int, data: [Float]) {
    let m = try NumpyFile.read(path)
    return (m.rows, m.cols, m.data)
}

/// A small BEIR-style corpus file with varied lengths (so batching matters).
func writeCorpus(_ url: URL, count: Int) throws {
    let words = ["package", "library", "kernel", "network", "python", "compiler", "daemon", "font", "graphics", "audio",
                 "database", "server", "client", "shell", "editor", "documentation", "development", "files", "tools", "utility"]
    var lines = ""
    for i in 0..<count {
        var r = UInt64(i) &* 2862933555777941757 &+ 3037000493
        let n = 2 + Int(i * 7 % 23)
        let text = (0..<n).map { _ -> String in r = r &* 2862933555777941757 &+ 3037000493; return words[Int(r >> 40) % words.count] }.joined(separator: " ")
        let obj: [String: Any] = ["_id": "doc-\(i)", "title": i % 3 == 0 ? "title \(i)" : "", "text": text]
        lines += String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self) + "\n"
    }
    try lines.write(to: url, atomically: true, encoding: .utf8)
}
