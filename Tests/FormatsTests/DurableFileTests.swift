import Foundation
import XCTest
import Formats
#if canImport(Glibc)
import Glibc
#endif

/// The one durable-write helper: the file appears whole or not at all, a failure leaves the old
/// file and no temporary file, the mode is honoured, and appends reach the file.
final class DurableFileTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try makeTemporaryDirectory("strata-durable") }

    struct Boom: Error {}

    func contents(_ path: String) -> String? { FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } }

    func mode(_ path: String) -> mode_t {
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0, path)
        return st.st_mode & 0o777
    }

    func testWholeFileReplacesTheOldOne() throws {
        let path = dir.appendingPathComponent("out.txt").path
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        try DurableFile.write(Data("new contents\n".utf8), to: path)
        XCTAssertEqual(contents(path), "new contents\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
    }

    /// A writer that fails half way leaves the old file exactly as it was, and no temporary file:
    /// the final name never holds a part.
    func testFailureHalfWayLeavesTheOldFileAndNoTemporary() throws {
        let path = dir.appendingPathComponent("out.txt").path
        try "old\n".write(toFile: path, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try DurableFile.write(to: path) { f in
            try f.write(Data("first half ".utf8))
            XCTAssertEqual(self.contents(path), "old\n", "nothing reaches the final name before commit")
            XCTAssertEqual(self.contents(path + ".partial"), "first half ")
            throw Boom()
        }) { XCTAssertTrue($0 is Boom) }
        XCTAssertEqual(contents(path), "old\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
        // A new file that fails never appears at all.
        let fresh = dir.appendingPathComponent("fresh.txt").path
        XCTAssertThrowsError(try DurableFile.write(to: fresh, temporaryPath: fresh + ".tmp") { try $0.write(Data("x".utf8)); throw Boom() })
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh))
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh + ".tmp"))
    }

    /// An uncommitted writer that is dropped or discarded removes its temporary file.
    func testDiscardAndDeinitRemoveTheTemporary() throws {
        let path = dir.appendingPathComponent("d.bin").path
        do {
            let f = try DurableFile(path: path)
            try f.write(Data([1, 2, 3]))
            XCTAssertTrue(FileManager.default.fileExists(atPath: f.temporaryPath))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
        let f = try DurableFile(path: path)
        f.discard()
        f.discard()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".partial"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    /// A stale temporary file from a killed run is replaced; one that cannot be replaced (a
    /// directory) is an error naming it with the OS's reason, and the final name is untouched.
    func testStaleTemporaryIsReplacedAndAnUnusableOneNamed() throws {
        let path = dir.appendingPathComponent("s.txt").path
        try "stale half".write(toFile: path + ".partial", atomically: false, encoding: .utf8)
        try DurableFile.write(Data("fresh".utf8), to: path)
        XCTAssertEqual(contents(path), "fresh")
        let blocked = dir.appendingPathComponent("b.txt").path
        try FileManager.default.createDirectory(atPath: blocked + ".partial", withIntermediateDirectories: false)
        XCTAssertThrowsError(try DurableFile.write(Data("x".utf8), to: blocked)) {
            XCTAssertEqual("\($0)", "cannot write \(blocked).partial: File exists")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: blocked))
        XCTAssertThrowsError(try DurableFile.write(Data("x".utf8), to: dir.appendingPathComponent("no/such/dir/f").path)) {
            XCTAssertTrue("\($0)".hasSuffix("f.partial: No such file or directory"), "\($0)")
        }
    }

    /// `exactMode` gives the mode whatever the umask (0600 for a secret under umask 000); the
    /// default mode is masked by the umask as for any created file.
    func testModeIsHonoured() throws {
        let old = umask(0)
        defer { umask(old) }
        let secret = dir.appendingPathComponent("k.key").path
        try DurableFile.write(Data("secret".utf8), to: secret, mode: 0o600, exactMode: true)
        XCTAssertEqual(mode(secret), 0o600)
        umask(0o077)
        let pub = dir.appendingPathComponent("k.pub").path
        try DurableFile.write(Data("public".utf8), to: pub, mode: 0o644, exactMode: true)
        XCTAssertEqual(mode(pub), 0o644, "exact mode is not masked")
        let plain = dir.appendingPathComponent("plain.txt").path
        try DurableFile.write(Data("x".utf8), to: plain)
        XCTAssertEqual(mode(plain), 0o600, "0644 masked by umask 077")
    }

    func testChecksumAndByteCountCoverEverythingWritten() throws {
        let path = dir.appendingPathComponent("c.bin").path
        let crc = try DurableFile.write(to: path, checksum: true) { f -> UInt32 in
            try f.write(Data("12345".utf8))
            try f.write(Data("6789".utf8))
            XCTAssertEqual(f.byteCount, 9)
            return f.crc32
        }
        XCTAssertEqual(crc, 0xCBF4_3926, "CRC-32 of \"123456789\" written in two pieces")
    }

    func testAppendCreatesAndExtends() throws {
        let path = dir.appendingPathComponent("journal.log").path
        try DurableFile.append(Data("one\n".utf8), to: path)
        try DurableFile.append(Data("two\n".utf8), to: path)
        XCTAssertEqual(contents(path), "one\ntwo\n")
        XCTAssertThrowsError(try DurableFile.append(Data("x".utf8), to: dir.appendingPathComponent("missing/j.log").path)) {
            XCTAssertTrue("\($0)".contains("No such file or directory"), "\($0)")
        }
    }
}
