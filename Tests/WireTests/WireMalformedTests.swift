import XCTest
import Kernels
import Wire

/// Bad frames: decoding throws INVALID_ARGUMENT (or RESOURCE_EXHAUSTED when oversized), never crashes.
final class WireMalformedTests: XCTestCase {
    func assertInvalid(_ frame: [UInt8], _ why: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Wire.decode(frame), why, file: file, line: line) { e in
            XCTAssertEqual((e as? WireError)?.code, .invalidArgument, "\(why): \(e)", file: file, line: line)
        }
    }

    func testGarbageBytes() {
        assertInvalid([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], "overlong varint")
        assertInvalid([0x0F], "wire type 7 does not exist")
        assertInvalid([0x1A, 0x05, 0x01], "length-delimited field longer than the frame")
        assertInvalid([], "empty frame has no body")
    }

    /// What every random frame must give: either INVALID_ARGUMENT, or an envelope that is a fixed
    /// point of encode/decode (what the decoder accepted is exactly what it would send on).
    func testRandomFramesAreRejectedOrRoundTrip() throws {
        var rng = SplitMix64(seed: 0x5EED)
        var rejected = 0
        for i in 0..<3000 {
            let n = Int.random(in: 0..<64, using: &rng)
            let frame = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try assertRejectedOrRoundTrips(frame, "random frame \(i)") { rejected += 1 }
        }
        XCTAssertGreaterThan(rejected, 2000, "random bytes are almost never a valid envelope with a body")
    }

    /// Single-byte corruptions of valid frames: each is rejected as INVALID_ARGUMENT or decodes
    /// to an envelope that round-trips.
    func testCorruptedValidFramesAreRejectedOrRoundTrip() throws {
        let samples: [Envelope] = [
            Envelope(requestID: 42, body: .embedChunkRequest(EmbedChunkRequest(jobID: "job", chunkIndex: 3, model: "m", texts: ["alpha beta", "gamma"]))),
            Envelope(requestID: 7, body: .searchShardRequest(SearchShardRequest(shardID: 2, k: 5, query: [1, 2, 3]))),
            Envelope(requestID: 9, body: .embedBatchRequest(EmbedBatchRequest(model: "m", texts: ["a", "bc"]))),
        ]
        var rng = SplitMix64(seed: 0xC0FFEE)
        for (si, env) in samples.enumerated() {
            let bytes = try Wire.encode(env)
            for pos in 0..<bytes.count {
                var frame = bytes
                frame[pos] ^= UInt8.random(in: 1...255, using: &rng)
                try assertRejectedOrRoundTrips(frame, "sample \(si) byte \(pos)") {}
            }
        }
    }

    func assertRejectedOrRoundTrips(_ frame: [UInt8], _ what: String, file: StaticString = #filePath, line: UInt = #line,
                                    onReject: () -> Void) throws {
        let env: Envelope
        do { env = try Wire.decode(frame) } catch let e as WireError {
            XCTAssertEqual(e.code, .invalidArgument, "\(what): \(e)", file: file, line: line)
            onReject()
            return
        }
        let again = try Wire.decode(try Wire.encode(env))
        XCTAssertEqual(again, env, "\(what): decoded envelope does not survive encode/decode", file: file, line: line)
    }

    func testEveryTruncationIsRejectedOrShorter() throws {
        let env = Envelope(requestID: 42, body: .embedChunkRequest(EmbedChunkRequest(jobID: "job", chunkIndex: 3, model: "m", texts: ["alpha beta", "gamma"])))
        let bytes = try Wire.encode(env)
        var rejected = 0
        for cut in 0..<bytes.count {
            do {
                let got = try Wire.decode(Array(bytes[..<cut]))
                XCTAssertNotEqual(got, env, "a truncated frame cannot decode to the whole message")
            } catch let e as WireError {
                XCTAssertEqual(e.code, .invalidArgument); rejected += 1
            }
        }
        XCTAssertGreaterThan(rejected, bytes.count / 2)
    }

    func testOversizedFrameIsResourceExhausted() throws {
        let env = Envelope(requestID: 1, body: .embedBatchRequest(EmbedBatchRequest(model: "m", texts: [String(repeating: "x", count: 5000)])))
        let bytes = try Wire.encode(env)
        XCTAssertThrowsError(try Wire.decode(bytes, maxBytes: 4096)) { e in
            XCTAssertEqual((e as? WireError)?.code, .resourceExhausted)
        }
        XCTAssertNoThrow(try Wire.decode(bytes, maxBytes: bytes.count))
    }

    /// request_id = 7, embed_batch_reply { rows: 2, dimension: 3, vectors: 4 bytes } (needs 24).
    func testVectorByteCountMismatchNamesRequest() {
        let inner: [UInt8] = [0x08, 0x02, 0x10, 0x03, 0x1A, 0x04, 0, 0, 0x80, 0x3F]
        let frame: [UInt8] = [0x08, 0x07, 0xA2, 0x01, UInt8(inner.count)] + inner
        XCTAssertThrowsError(try Wire.decode(frame)) { e in
            let w = e as? WireError
            XCTAssertEqual(w?.code, .invalidArgument)
            XCTAssertEqual(w?.requestID, 7)
            XCTAssertTrue(w?.message.contains("vectors") ?? false, "\(e)")
        }
    }

    /// request_id = 9, search_request { query: 0xFF 0xFE } (not UTF-8).
    func testInvalidUTF8IsRejected() {
        let inner: [UInt8] = [0x0A, 0x02, 0xFF, 0xFE]
        let frame: [UInt8] = [0x08, 0x09, 0xDA, 0x01, UInt8(inner.count)] + inner
        XCTAssertThrowsError(try Wire.decode(frame)) { e in XCTAssertEqual((e as? WireError)?.code, .invalidArgument) }
    }

    /// A search-shard query whose dimension field disagrees with its bytes.
    func testQueryDimensionMismatch() throws {
        let good = try Wire.encode(Envelope(requestID: 3, body: .searchShardRequest(SearchShardRequest(shardID: 0, k: 5, query: [1, 2]))))
        XCTAssertNoThrow(try Wire.decode(good))
        // search_shard_request (field 21): shard 0, k 5, dimension 3, query 8 bytes.
        let inner: [UInt8] = [0x10, 0x05, 0x18, 0x03, 0x22, 0x08, 0, 0, 0x80, 0x3F, 0, 0, 0, 0x40]
        let bad: [UInt8] = [0x08, 0x03, 0xAA, 0x01, UInt8(inner.count)] + inner
        XCTAssertThrowsError(try Wire.decode(bad)) { e in XCTAssertEqual((e as? WireError)?.requestID, 3) }
    }
}

