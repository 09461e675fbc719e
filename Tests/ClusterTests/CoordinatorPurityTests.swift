import Foundation
import XCTest

/// The coordinator's pure parts touch no socket, file or clock: their sources import neither
/// ZeroMQ nor Foundation and name no file or time call (the shell, CoordinatorServer*.swift,
/// does every read and write). Checked on the source text, so that the doc comments saying so
/// stay true.
final class CoordinatorPurityTests: XCTestCase {
    static let pureFiles = ["Coordinator", "CoordinatorJobs", "CoordinatorSearch", "CoordinatorTypes", "CoordinatorRetries", "CoordinatorFailover",
                            "CoordinatorProgress", "CoordinatorDrain", "CoordinatorServing", "JobScheduler", "JobsState", "Membership", "Placement", "Requests", "Searches", "SearchState", "ShardMap",
                            "WorkerLiveness", "HitWire", "Retry"]
    static let forbidden = ["import ZMQ", "import Foundation", "import Glibc", "FileManager", "FileHandle", "Data(contentsOf", "open(", "pread",
                            "fsync", "write(", ".texts(in", ".ids(in", "Date()", "usleep", "DispatchQueue", "Socket"]

    func testPurePartsNameNoSocketFileOrClock() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Cluster")
        for name in Self.pureFiles {
            let url = sources.appendingPathComponent(name + ".swift")
            let text = try String(contentsOf: url, encoding: .utf8)
            // Code only: doc and line comments may mention what the shell does.
            let code = text.split(separator: "\n").map { line -> Substring in
                guard let r = line.range(of: "//") else { return line }
                return line[..<r.lowerBound]
            }.joined(separator: "\n")
            for f in Self.forbidden {
                XCTAssertFalse(code.contains(f), "\(name).swift contains \(f)")
            }
        }
    }
}
