import Foundation
import XCTest

/// `--precision` as a user gives it: a bad value is a usage error that names the choices and writes
/// nothing; int8 / bf16 embeddings and scores stay close to fp32; STRATA_FORCE_PORTABLE=1 (the plain C
/// kernels) writes the same bytes as the default (SIMD where the CPU has it).
final class PrecisionCLITests: XCTestCase {
    private var tmp: URL!
    override func setUpWithError() throws { tmp = try CLI.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    private var tinyCE: String { CLI.modelFixtures.appendingPathComponent("tiny-ce").path }

    private func texts() throws -> URL {
        let input = tmp.appendingPathComponent("in.txt")
        try "the quick brown fox\na network server daemon for mail\nhello\ndebian packages and their dependencies\n"
            .write(to: input, atomically: true, encoding: .utf8)
        return input
    }

    /// float32 [n, d] rows from a .npy written by strata (v1 header).
    private func rows(_ url: URL, dim: Int) throws -> [[Float]] {
        let d = try Data(contentsOf: url)
        let hlen = Int(d[8]) | Int(d[9]) << 8
        let floats = d[(10 + hlen)...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return stride(from: 0, to: floats.count, by: dim).map { Array(floats[$0..<($0 + dim)]) }
    }

    func testBadPrecisionIsAUsageErrorAndWritesNothing() throws {
        let out = tmp.appendingPathComponent("e.npy")
        let pairs = tmp.appendingPathComponent("pairs.tsv")
        try "a query\ta passage\n".write(to: pairs, atomically: true, encoding: .utf8)
        for cmd in [["embed", "--input", try texts().path, "--output", out.path], ["score", "--input", pairs.path, "--output", out.path]] {
            let r = try CLI.run(cmd + ["--model", tinyCE, "--precision", "int4"])
            XCTAssertEqual(r.status, 2, r.stderr)
            XCTAssertTrue(r.stderr.contains("--precision must be fp32, bf16 or int8, got 'int4'"), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        }
    }

    func testReducedPrecisionEmbeddingsAreCloseToFP32AndPortableKernelsWriteTheSameBytes() throws {
        let input = try texts()
        func embed(_ p: String, env: [String: String] = [:]) throws -> URL {
            let out = tmp.appendingPathComponent("e-\(p)-\(env.isEmpty ? "default" : "portable").npy")
            let r = try CLI.run(["embed", "--model", tinyCE, "--layer", "2", "--input", input.path, "--output", out.path, "--precision", p], env: env)
            XCTAssertEqual(r.status, 0, r.stderr)
            return out
        }
        let fp32 = try rows(try embed("fp32"), dim: 32)
        for (p, minCos) in [("bf16", Float(0.999)), ("int8", 0.99)] {
            let simd = try embed(p), portable = try embed(p, env: ["STRATA_FORCE_PORTABLE": "1"])
            XCTAssertEqual(try Data(contentsOf: simd), try Data(contentsOf: portable), "\(p): portable kernels wrote other bytes")
            let got = try rows(simd, dim: 32)
            XCTAssertEqual(got.count, fp32.count)
            for (a, b) in zip(got, fp32) {
                let dot = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
                let cos = dot / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
                XCTAssertGreaterThanOrEqual(cos, minCos, p)
            }
            XCTAssertNotEqual(got, fp32, "\(p) must differ from fp32 somewhere (else fp32 ran)")
        }
    }
}
