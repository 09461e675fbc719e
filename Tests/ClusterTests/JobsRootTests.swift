import XCTest
import Cluster
import Wire

/// `JobsRoot` on a real directory tree, without a coordinator: what resolves inside, what not.
final class JobsRootTests: XCTestCase {
    var tmp: URL!
    var root: JobsRoot!
    override func setUpWithError() throws {
        tmp = URL(fileURLWithPath: FileManager.default.temporaryDirectory.resolvingSymlinksInPath().path).appendingPathComponent("strata-jr-\(UUID().uuidString)")
        for d in ["root/sub", "outside", "data"] { try FileManager.default.createDirectory(at: tmp.appendingPathComponent(d), withIntermediateDirectories: true) }
        try Data("x\n".utf8).write(to: tmp.appendingPathComponent("root/c.txt"))
        try Data("x\n".utf8).write(to: tmp.appendingPathComponent("outside/c.txt"))
        try Data("x\n".utf8).write(to: tmp.appendingPathComponent("root/sub/x.txt"))
        try FileManager.default.createSymbolicLink(atPath: tmp.appendingPathComponent("root/out-link").path, withDestinationPath: tmp.appendingPathComponent("outside").path)
        try FileManager.default.createSymbolicLink(atPath: tmp.appendingPathComponent("root/dangling").path, withDestinationPath: tmp.appendingPathComponent("outside/nothing").path)
        root = try JobsRoot(tmp.appendingPathComponent("root").path)
    }
    override func tearDown() { try? FileManager.default.removeItem(at: tmp) }

    func testResolve() {
        let r = tmp.appendingPathComponent("root").path
        XCTAssertEqual(root.path, r)
        XCTAssertEqual(root.resolve("new/dir"), r + "/new/dir", "relative to the root; missing parts kept")
        XCTAssertEqual(root.resolve(r + "/sub/../new"), r + "/new", "`..` through an existing directory")
        XCTAssertEqual(root.resolve("../outside/x"), tmp.appendingPathComponent("outside/x").path)
        XCTAssertEqual(root.resolve("out-link/x"), tmp.appendingPathComponent("outside/x").path, "links followed")
        XCTAssertNil(root.resolve("missing/../x"), "`..` after a missing directory")
        XCTAssertNil(root.resolve("dangling"), "a dangling link")
        XCTAssertNil(root.resolve("c.txt/x"), "a file as a directory")
    }

    func testCheck() {
        let r = tmp.appendingPathComponent("root").path, data = tmp.appendingPathComponent("data").path
        func check(_ c: String, _ o: String, dataDir: String? = nil) -> Result<JobSubmitRequest, RPCStatus> {
            root.check(JobSubmitRequest(corpusPath: c, model: "/m", outDir: o), dataDir: dataDir ?? data)
        }
        guard case .success(let ok) = check("c.txt", "sub/../out") else { return XCTFail() }
        XCTAssertEqual([ok.corpusPath, ok.outDir], [r + "/c.txt", r + "/out"], "real paths")
        for (c, o) in [("/etc/passwd", "o"), ("../outside/c.txt", "o"), ("out-link/c.txt", "o"), ("c.txt", "../../o"), ("c.txt", "out-link/o"),
                       ("c.txt", r), ("c.txt", "dangling"), ("sub/x.txt", "sub"), ("sub", "o")] {
            if case .success(let x) = check(c, o) { XCTFail("\(c) -> \(o) accepted as \(x)") }
        }
        if case .success = check("c.txt", "o", dataDir: r + "/o") { XCTFail("the output inside the data directory") }
        if case .success = check("c.txt", "o", dataDir: r) { XCTFail("the corpus inside the data directory") }
        if case .failure(let s) = check("/etc/passwd", "o") { XCTAssertEqual(s.code, .permissionDenied) }
    }

    func testOutputDirectory() throws {
        let o = tmp.appendingPathComponent("root/o")
        XCTAssertNil(JobsRoot.checkOutputDirectory(o.path, jobID: "job-1"), "absent")
        try FileManager.default.createDirectory(at: o, withIntermediateDirectories: true)
        XCTAssertNil(JobsRoot.checkOutputDirectory(o.path, jobID: "job-1"), "empty")
        try Data("ids\n".utf8).write(to: o.appendingPathComponent("ids.txt"))
        XCTAssertEqual(JobsRoot.checkOutputDirectory(o.path, jobID: "job-1")?.code, .alreadyExists, "someone else's files")
        try Data(#"{"job_id": "job-2"}"#.utf8).write(to: o.appendingPathComponent("manifest.json"))
        XCTAssertEqual(JobsRoot.checkOutputDirectory(o.path, jobID: "job-1")?.code, .alreadyExists, "another job's output")
        XCTAssertNil(JobsRoot.checkOutputDirectory(o.path, jobID: "job-2"), "this job's own output")
        XCTAssertEqual(JobsRoot.checkOutputDirectory(tmp.appendingPathComponent("root/c.txt").path, jobID: "job-1")?.code, .alreadyExists, "a file")
    }
}
