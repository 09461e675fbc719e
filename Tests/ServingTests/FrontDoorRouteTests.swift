import Foundation
import XCTest
import Cluster
import Serving
import Tokenizer
import Wire

/// Every route of the HTTP front door with a real server on loopback (in-process coordinator
/// shell and event loop, a worker over ZeroMQ on GateEngine).
final class FrontDoorRouteTests: XCTestCase {
    var cluster: ServingCluster!

    override func tearDown() { cluster?.shutdown() }

    func testHealthAndReadinessBeforeAndAfterTheWorkers() throws {
        cluster = try ServingCluster(workers: 0)
        XCTAssertEqual(try Web.get(cluster.base + "/health").status, 200)
        let notReady = try Web.get(cluster.base + "/ready")
        XCTAssertEqual(notReady.status, 503)
        XCTAssertEqual(notReady.object["error_type"] as? String, "unavailable")
        XCTAssertEqual(notReady.object["error"] as? String, "no live worker")
        try cluster.addWorker("w0")
        try cluster.waitReady()
        let info = try Web.get(cluster.base + "/info")
        XCTAssertEqual(info.status, 200)
        let de = try XCTUnwrap(info.object["embedding_model"] as? [String: Any])
        let tok = try BertTokenizer(directory: URL(fileURLWithPath: try Fixtures.model("tiny-de-legacy")))
        XCTAssertEqual(de["max_input_length"] as? Int, tok.maxLength)
        XCTAssertNotNil(de["dimension"] as? Int)
        XCTAssertNotNil(info.object["rerank_model"] as? [String: Any])
        XCTAssertEqual(info.object["documents"] as? Int, 30)
        XCTAssertEqual(info.object["workers"] as? Int, 1)
    }

    func testOpenAIEmbeddingsInFloatAndBase64() throws {
        cluster = try ServingCluster()
        try cluster.waitReady()
        let texts = ["network daemon", "fonts for the desktop", "audio"]
        let r = try Web.post(cluster.base + "/v1/embeddings", ["input": texts, "model": "any"])
        XCTAssertEqual(r.status, 200, r.text)
        XCTAssertEqual(r.object["object"] as? String, "list")
        XCTAssertEqual(r.object["model"] as? String, HTTPFrontDoor.Options().modelName, "the served model, not the name the client asked for")
        let data = try XCTUnwrap(r.object["data"] as? [[String: Any]])
        XCTAssertEqual(data.map { $0["index"] as? Int }, [0, 1, 2])
        for (i, d) in data.enumerated() {
            XCTAssertEqual(d["object"] as? String, "embedding")
            XCTAssertEqual((d["embedding"] as? [NSNumber])?.map(\.floatValue), GateEngine.vector(texts[i]))
        }
        let tok = try BertTokenizer(directory: URL(fileURLWithPath: try Fixtures.model("tiny-de-legacy")))
        let usage = try XCTUnwrap(r.object["usage"] as? [String: Any])
        XCTAssertEqual(usage["prompt_tokens"] as? Int, texts.map { tok.encode($0).ids.count }.reduce(0, +))
        XCTAssertEqual(usage["total_tokens"] as? Int, usage["prompt_tokens"] as? Int)

        // base64: float32 little-endian bytes; a single string input is a batch of one.
        let b = try Web.post(cluster.base + "/v1/embeddings", ["input": "audio", "encoding_format": "base64"])
        XCTAssertEqual(b.status, 200, b.text)
        let s = try XCTUnwrap((b.object["data"] as? [[String: Any]])?.first?["embedding"] as? String)
        let bytes = try XCTUnwrap(Data(base64Encoded: s))
        let floats = bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(floats, GateEngine.vector("audio"))
    }

    func testTEIEmbedNormalisesUnlessAskedNotTo() throws {
        cluster = try ServingCluster()
        try cluster.waitReady()
        let v = GateEngine.vector("graphics tools")
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let r = try Web.post(cluster.base + "/embed", ["inputs": ["graphics tools", "x"]])
        XCTAssertEqual(r.status, 200, r.text)
        let rows = try XCTUnwrap(r.json as? [[NSNumber]])
        XCTAssertEqual(rows.count, 2)
        for (g, e) in zip(rows[0].map(\.floatValue), v.map { $0 / norm }) { XCTAssertEqual(g, e, accuracy: 1e-6) }
        let raw = try Web.post(cluster.base + "/embed", ["inputs": "graphics tools", "normalize": false])
        XCTAssertEqual((raw.json as? [[NSNumber]])?.first?.map(\.floatValue), v)
    }

    func testTEIRerankBestFirstWithSigmoidRawScoresAndText() throws {
        cluster = try ServingCluster()
        try cluster.waitReady()
        let texts = ["a", "audio audio audio", "kernel", "audio"]
        let r = try Web.post(cluster.base + "/rerank", ["query": "audio", "texts": texts, "return_text": true])
        XCTAssertEqual(r.status, 200, r.text)
        let got = try XCTUnwrap(r.json as? [[String: Any]])
        let raw = texts.map { GateEngine.score("audio", $0) }
        let order = raw.indices.sorted { raw[$0] > raw[$1] }
        XCTAssertEqual(got.map { $0["index"] as? Int }, order)
        for g in got {
            let i = g["index"] as! Int
            XCTAssertEqual((g["score"] as! NSNumber).floatValue, 1 / (1 + expf(-raw[i])), accuracy: 1e-6)
            XCTAssertEqual(g["text"] as? String, texts[i])
        }
        let rawReply = try Web.post(cluster.base + "/rerank", ["query": "audio", "texts": texts, "raw_scores": true])
        let rawGot = try XCTUnwrap(rawReply.json as? [[String: Any]])
        XCTAssertEqual(rawGot.map { ($0["score"] as! NSNumber).floatValue }, order.map { raw[$0] })
        XCTAssertNil(rawGot.first?["text"])
    }

    func testSearchAnswersAsTheZeroMQClientDoes() throws {
        cluster = try ServingCluster()
        try cluster.waitReady()
        let client = try ClusterClient(endpoint: cluster.server.endpoint)
        for rerank in [false, true] {
            guard case .searchReply(let z) = try client.call(.searchRequest(SearchRequest(query: "audio kernel", topK: 5, rerank: rerank, rerankTop: 10))) else {
                return XCTFail("no search reply over ZeroMQ")
            }
            let r = try Web.post(cluster.base + "/search", ["query": "audio kernel", "top_k": 5, "rerank": rerank, "rerank_top": 10])
            XCTAssertEqual(r.status, 200, r.text)
            let hits = try XCTUnwrap(r.object["hits"] as? [[String: Any]])
            XCTAssertEqual(hits.map { $0["id"] as? String }, z.hits.map(\.docID))
            XCTAssertEqual(hits.map { $0["rank"] as? Int }, Array(1...5))
            if rerank {
                // Ranked by the CE; `score` is each hit's DE score (the engine's dot product with the query).
                XCTAssertEqual(hits.map { ($0["rerank_score"] as? NSNumber)?.floatValue }, z.hits.map(\.score))
                let q = GateEngine.vector("audio kernel")
                let corpus = Fixtures.corpus(30)
                for h in hits {
                    let d = corpus.first { $0.id == h["id"] as? String }!
                    let dot = zip(q, GateEngine.vector(d.text)).reduce(0) { $0 + $1.0 * $1.1 }
                    XCTAssertEqual((h["score"] as? NSNumber)?.floatValue ?? .nan, dot, accuracy: 1e-4)
                }
            } else {
                XCTAssertEqual(hits.map { ($0["score"] as? NSNumber)?.floatValue }, z.hits.map(\.score))
                XCTAssertTrue(hits.allSatisfy { $0["rerank_score"] == nil })
            }
            XCTAssertEqual(r.object["partial"] as? Bool, false)
            XCTAssertEqual((r.object["missing_shards"] as? [Any])?.count, 0)
            let t = try XCTUnwrap(r.object["timings_ms"] as? [String: Any])
            XCTAssertNotNil(t["total"] as? NSNumber)
        }
    }

    func testMetricsCountRequestsAndReportTheCluster() throws {
        cluster = try ServingCluster()
        try cluster.waitReady()
        _ = try Web.post(cluster.base + "/embed", ["inputs": ["a", "b"]])
        _ = try Web.post(cluster.base + "/embed", ["nope": 1])
        let m = try Web.get(cluster.base + "/metrics")
        XCTAssertEqual(m.status, 200)
        XCTAssertTrue(m.headers["content-type"]?.hasPrefix("text/plain") ?? false, "\(m.headers)")
        for line in ["strata_http_requests_total{route=\"/embed\",status=\"200\"} 1",
                     "strata_http_requests_total{route=\"/embed\",status=\"400\"} 1",
                     "strata_http_request_duration_seconds_count{route=\"/embed\"} 2",
                     "strata_request_texts_sum{route=\"/embed\"} 2.0",
                     "strata_workers_live 1.0", "strata_ready 1.0",
                     "strata_shard_ready_replicas{shard=\"0\"} 1.0", "strata_shard_ready_replicas{shard=\"1\"} 1.0",
                     "strata_queue_depth{state=\"in_flight\"} 0.0"] {
            XCTAssertTrue(m.text.contains(line + "\n"), "missing `\(line)` in\n\(m.text)")
        }
    }
}
