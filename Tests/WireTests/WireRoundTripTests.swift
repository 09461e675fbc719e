import XCTest
import Wire

/// Every message type survives encode -> decode unchanged.
final class WireRoundTripTests: XCTestCase {
    static let docs = [Document(id: "d1", text: "héllo wörld ✓"), Document(id: "", text: "")]
    static let hits = [Hit(docIndex: 0, docID: "a", score: 1.5), Hit(docIndex: 1 << 40, docID: "ü", score: -Float.greatestFiniteMagnitude)]
    static let vecs = Vectors(rows: 2, dimension: 3, data: [1, -2, 3.25, .leastNonzeroMagnitude, 0, -0.0])

    static let bodies: [Body] = [
        .registerRequest(RegisterRequest(workerID: "host:1:2", protocolVersion: 1, shardsHeld: [0, 7])),
        .registerReply(RegisterReply(heartbeatIntervalMs: 1000, heartbeatLiveness: 3)),
        .heartbeat(Heartbeat(workerID: "w", sequence: .max)),
        .loadModelRequest(LoadModelRequest(name: "de", path: "/models/x")),
        .loadModelRequest(LoadModelRequest(name: "de", path: "/models/ce", embedLayer: 0)),
        .loadModelRequest(LoadModelRequest(name: "de", path: "/models/ce", embedLayer: 3)),
        .loadModelReply(LoadModelReply(name: "ce", dimension: 384, crossEncoder: true)),
        .assignShardRequest(AssignShardRequest(shardID: 3, model: "de", firstDocIndex: 100, documents: docs)),
        .assignShardReply(AssignShardReply(shardID: 3, count: 2, dimension: 384)),
        .dropShardRequest(DropShardRequest(shardID: 9)), .dropShardReply(DropShardReply(shardID: 9)),
        .embedBatchRequest(EmbedBatchRequest(model: "de", texts: ["a", "", "日本語"])),
        .embedBatchReply(EmbedBatchReply(vectors: vecs)),
        .embedBatchReply(EmbedBatchReply(vectors: Vectors(rows: 0, dimension: 384, data: []))),
        .searchShardRequest(SearchShardRequest(shardID: 1, k: 10, query: [0.5, -0.25, 1])),
        .searchShardReply(SearchShardReply(shardID: 1, hits: hits)),
        .rerankRequest(RerankRequest(model: "ce", query: "q?", passages: docs)),
        .rerankReply(RerankReply(scores: [0.1, -3, .infinity])),
        .embedChunkRequest(EmbedChunkRequest(jobID: "job-1", chunkIndex: 4, model: "/m", texts: ["x", "y"])),
        .embedChunkReply(EmbedChunkReply(jobID: "job-1", chunkIndex: 4, vectors: vecs)),
        .searchRequest(SearchRequest(query: "what", topK: 10, rerank: true, rerankTop: 50)),
        .searchReply(SearchReply(hits: hits, partial: true, missingShards: [2], embedMs: 1.5, searchMs: 2, rerankMs: 3, totalMs: 7)),
        .jobSubmitRequest(JobSubmitRequest(corpusPath: "/c.jsonl", model: "/m", outDir: "/o", chunkSize: 256)),
        .jobSubmitReply(JobSubmitReply(jobID: "j", chunks: 12)),
        .jobStatusRequest(JobStatusRequest(jobID: "j")),
        .jobStatusReply(JobStatusReply(jobID: "j", chunksTotal: 12, chunksDone: 5, docsDone: 500, docsTotal: 1200, finished: false, etaSeconds: 3.5, error: "")),
        .clusterStatusRequest,
        .clusterStatusReply(ClusterStatusReply(workersLive: 2, shardsTotal: 4, shardsReady: 3, ready: false)),
        .clusterStatusReply(ClusterStatusReply(workersLive: 2, shardsTotal: 2, shardsReady: 1, ready: false, docsTotal: 10, docsReady: 4,
                                               docsPerSecond: 2.5, etaSeconds: 2.4,
                                               shards: [ShardProgress(shardID: 0, documents: 4, replicasReady: 1, replicasWanted: 1, doneSeconds: 1.6),
                                                        ShardProgress(shardID: 1, documents: 6, replicasReady: 0, replicasWanted: 2, indexingSeconds: 0.5)])),
        .jobCancelRequest(JobCancelRequest(jobID: "j")),
        .jobCancelReply(JobCancelReply(jobID: "j", cancelled: true, error: "cancelled by a client")),
        .error(RPCStatus(.deadlineExceeded, "too late")),
        .embedTextsRequest(EmbedTextsRequest(texts: ["a", "b c"], truncate: true)),
        .searchReply(SearchReply(hits: hits, rerankMs: 4, totalMs: 9, firstStageScores: hits.map { $0.score - 1 })),
        .embedTextsReply(EmbedTextsReply(vectors: vecs, promptTokens: 17)),
        .rerankTextsRequest(RerankTextsRequest(query: "q", texts: ["x", "y"], truncate: false)),
        .rerankTextsReply(RerankTextsReply(scores: [0.5, -2], promptTokens: 9)),
        .workerLeavingRequest(WorkerLeavingRequest(workerID: "host:9:1")),
        .workerLeavingReply(WorkerLeavingReply(shardsMoved: 3, complete: false, message: "drain timed out")),
    ]

    func testEveryBodyRoundTrips() throws {
        for (i, body) in Self.bodies.enumerated() {
            let env = Envelope(requestID: UInt64(i) + 1, deadlineUnixMs: 1_700_000_000_123, status: i % 2 == 0 ? nil : RPCStatus(.ok, "fine"), body: body)
            let bytes = try Wire.encode(env)
            XCTAssertEqual(try Wire.decode(bytes), env, "body \(i): \(body)")
        }
    }

    /// `bodies` covers every case of the Envelope's `oneof body` in proto/strata.proto, read from the
    /// schema itself: a message added to the proto without a round-trip sample fails here.
    func testBodiesCoverEveryMessageOfTheSchema() throws {
        let proto = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("proto/strata.proto")
        let text = try String(contentsOf: proto, encoding: .utf8)
        let start = try XCTUnwrap(text.range(of: "oneof body {"), "no `oneof body` in \(proto.path)")
        let end = try XCTUnwrap(text.range(of: "}", range: start.upperBound..<text.endIndex))
        let schema = Set(text[start.upperBound..<end.lowerBound].split(separator: "\n").compactMap { line -> String? in
            let words = line.split(separator: " ")
            return words.count >= 4 && words[2] == "=" ? String(words[1]) : nil
        })
        XCTAssertGreaterThanOrEqual(schema.count, 34, "the oneof was read: \(schema.sorted())")
        let sampled = Set(Self.bodies.map { body -> String in
            let camel = Mirror(reflecting: body).children.first?.label ?? String(describing: body)
            return camel.reduce(into: "") { s, c in s += c.isUppercase ? "_" + c.lowercased() : String(c) }
        })
        XCTAssertEqual(schema.subtracting(sampled).sorted(), [], "oneof cases without a round-trip sample")
        XCTAssertEqual(sampled.subtracting(schema).sorted(), [], "samples whose case is not in the schema")
    }

    func testVectorsAreCopiedBitForBit() throws {
        let values: [Float] = [.nan, -.nan, .infinity, 1.0000001, Float(bitPattern: 0x0000_0001)]
        let env = Envelope(requestID: 1, body: .embedBatchReply(EmbedBatchReply(vectors: Vectors(rows: 1, dimension: 5, data: values))))
        guard case .embedBatchReply(let r) = try Wire.decode(try Wire.encode(env)).body else { return XCTFail("wrong body") }
        XCTAssertEqual(r.vectors.data.map(\.bitPattern), values.map(\.bitPattern))
    }

    func testStatusCodesMatchGRPC() {
        XCTAssertEqual(StatusCode.invalidArgument.rawValue, 3)
        XCTAssertEqual(StatusCode.deadlineExceeded.rawValue, 4)
        XCTAssertEqual(StatusCode.resourceExhausted.rawValue, 8)
        XCTAssertEqual(StatusCode.unavailable.rawValue, 14)
        XCTAssertEqual(StatusCode.unauthenticated.rawValue, 16)
        XCTAssertEqual(StatusCode.allCases.count, 17)
    }

    func testUnencodableValuesAreClearErrors() {
        let nul = Envelope(requestID: 1, body: .searchRequest(SearchRequest(query: "a\u{0}b", topK: 1)))
        XCTAssertThrowsError(try Wire.encode(nul)) { e in
            XCTAssertEqual((e as? WireError)?.code, .invalidArgument)
            XCTAssertTrue("\(e)".contains("query"), "\(e)")
        }
        let neg = Envelope(requestID: 1, body: .searchRequest(SearchRequest(query: "a", topK: -1)))
        XCTAssertThrowsError(try Wire.encode(neg)) { e in XCTAssertTrue("\(e)".contains("top_k"), "\(e)") }
    }
}
