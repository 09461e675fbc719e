import Cluster
import Foundation
import HTTP
import Wire

/// The POST routes: each parses its JSON, calls the coordinator with the matching client message,
/// and writes the reply in its API's shape.
extension HTTPFrontDoor {
    /// Texts of an embed/rerank request: present, within the batch limit (413 past it).
    func checkedTexts(_ texts: [String]?, field: String) throws -> [String] {
        guard let texts else { throw RequestError.badRequest("'\(field)' is required") }
        guard !texts.isEmpty else { throw RequestError.badRequest("'\(field)' is empty") }
        guard texts.count <= options.maxClientBatch else {
            throw RequestError.tooLarge("\(texts.count) inputs: the batch limit is \(options.maxClientBatch) (--max-client-batch)")
        }
        return texts
    }

    func embed(_ texts: [String], truncate: Bool, route: String, arrived: Double) throws -> EmbedTextsReply {
        guard case .embedTextsReply(let r) = try call(.embedTextsRequest(EmbedTextsRequest(texts: texts, truncate: truncate)), arrived: arrived) else {
            throw RequestError(status: 500, type: "internal", message: "the coordinator answered an embed with another message")
        }
        metrics.recordBatch(route: route, texts: texts.count, tokens: r.promptTokens)
        return r
    }

    /// POST /v1/embeddings (OpenAI): `{"input": str | [str], "model"?, "encoding_format"?: "float"|"base64"}`.
    func openAIEmbeddings(_ req: HTTPRequest) throws -> HTTPResponse {
        let j = try JSONIn(req.body)
        // "user" is OpenAI's end-user tag (logged by OpenAI, meaningless here: accepted, unused).
        try j.onlyFields(["input", "model", "encoding_format", "dimensions", "user"], route: req.path)
        let texts = try checkedTexts(try j.texts("input"), field: "input")
        let format = try j.string("encoding_format") ?? "float"
        guard format == "float" || format == "base64" else { throw RequestError.badRequest("'encoding_format' must be \"float\" or \"base64\"") }
        // The reply names the model that embedded the texts, whatever the request asked for (OpenAI
        // clients send their own model names; this door serves one DE).
        _ = try j.string("model")
        let model = options.modelName
        let r = try embed(texts, truncate: false, route: req.path, arrived: req.arrived)
        if let d = try j.int("dimensions"), d != r.vectors.dimension {
            throw RequestError.badRequest("'dimensions' = \(d): this model's embeddings have \(r.vectors.dimension)")
        }
        var o = JSONOut()
        o.raw("{"); o.key("object", first: true); o.string("list"); o.key("data"); o.raw("[")
        let d = r.vectors.dimension
        for i in 0..<r.vectors.rows {
            if i > 0 { o.raw(",") }
            o.raw("{"); o.key("object", first: true); o.string("embedding"); o.key("index"); o.number(i); o.key("embedding")
            let row = r.vectors.data[(i * d)..<((i + 1) * d)]
            if format == "base64" {
                // float32 little-endian bytes, as OpenAI's API and its Python client decode them.
                let bytes = row.withUnsafeBufferPointer { Data(buffer: $0) }
                o.string(bytes.base64EncodedString())
            } else {
                o.floats(row)
            }
            o.raw("}")
        }
        o.raw("]"); o.key("model"); o.string(model)
        o.key("usage"); o.raw("{"); o.key("prompt_tokens", first: true); o.number(r.promptTokens)
        o.key("total_tokens"); o.number(r.promptTokens); o.raw("}}")
        return HTTPResponse(status: 200, body: o.bytes)
    }

    /// POST /embed (TEI): `{"inputs": str | [str], "normalize"?: bool (true), "truncate"?: bool}` -> `[[...], ...]`.
    func teiEmbed(_ req: HTTPRequest) throws -> HTTPResponse {
        let j = try JSONIn(req.body)
        try j.onlyFields(["inputs", "normalize", "truncate"], route: req.path)
        let texts = try checkedTexts(try j.texts("inputs"), field: "inputs")
        let normalize = try j.bool("normalize") ?? true
        let truncate = try j.bool("truncate") ?? false
        var v = try embed(texts, truncate: truncate, route: req.path, arrived: req.arrived).vectors
        let d = v.dimension
        if normalize {
            for i in 0..<v.rows {
                var n: Float = 0
                for k in 0..<d { n += v.data[i * d + k] * v.data[i * d + k] }
                let s = n > 0 ? 1 / n.squareRoot() : 0
                for k in 0..<d { v.data[i * d + k] *= s }
            }
        }
        var o = JSONOut()
        o.raw("[")
        for i in 0..<v.rows {
            if i > 0 { o.raw(",") }
            o.floats(v.data[(i * d)..<((i + 1) * d)])
        }
        o.raw("]")
        return HTTPResponse(status: 200, body: o.bytes)
    }

    /// POST /rerank (TEI): `{"query", "texts": [str], "raw_scores"?, "return_text"?, "truncate"?, "top_n"?}`
    /// -> `[{"index", "score", "text"?}]`, best first (the best `top_n` when given); scores are the
    /// CE logit's sigmoid unless raw_scores.
    func teiRerank(_ req: HTTPRequest) throws -> HTTPResponse {
        let j = try JSONIn(req.body)
        try j.onlyFields(["query", "texts", "raw_scores", "return_text", "truncate", "top_n"], route: req.path)
        let topN = try j.int("top_n")
        if let n = topN, n < 1 { throw RequestError.badRequest("'top_n' = \(n) must be at least 1") }
        guard let query = try j.string("query"), !query.isEmpty else { throw RequestError.badRequest("'query' must be a non-empty string") }
        guard j.has("texts"), j.object["texts"] is [Any] else { throw RequestError.badRequest("'texts' must be an array of strings") }
        let texts = try checkedTexts(try j.texts("texts"), field: "texts")
        let raw = try j.bool("raw_scores") ?? false
        let returnText = try j.bool("return_text") ?? false
        let truncate = try j.bool("truncate") ?? false
        guard case .rerankTextsReply(let r) = try call(.rerankTextsRequest(RerankTextsRequest(query: query, texts: texts, truncate: truncate)),
                                                       arrived: req.arrived) else {
            throw RequestError(status: 500, type: "internal", message: "the coordinator answered a rerank with another message")
        }
        metrics.recordBatch(route: req.path, texts: texts.count, tokens: r.promptTokens)
        let scores = raw ? r.scores : r.scores.map { 1 / (1 + expf(-$0)) }
        // Best first; ties keep the input order.
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(topN ?? scores.count)
        var o = JSONOut()
        o.raw("[")
        for (n, i) in order.enumerated() {
            if n > 0 { o.raw(",") }
            o.raw("{"); o.key("index", first: true); o.number(i); o.key("score"); o.number(scores[i])
            if returnText { o.key("text"); o.string(texts[i]) }
            o.raw("}")
        }
        o.raw("]")
        return HTTPResponse(status: 200, body: o.bytes)
    }

    /// POST /search (Strata): `{"query", "top_k"? (10), "rerank"? (false), "rerank_top"?}` ->
    /// `{"hits": [{"id", "score", "rank", "rerank_score"?}], "partial", "missing_shards", "timings_ms"}`.
    /// `score` is the first-stage (DE inner product) score; `rerank_score`, when the hits were
    /// re-ranked, is the CE logit they are ranked by.
    func search(_ req: HTTPRequest) throws -> HTTPResponse {
        let j = try JSONIn(req.body)
        try j.onlyFields(["query", "top_k", "rerank", "rerank_top"], route: req.path)
        guard let query = try j.string("query"), !query.isEmpty else { throw RequestError.badRequest("'query' must be a non-empty string") }
        let topK = try j.int("top_k") ?? 10
        let rerank = try j.bool("rerank") ?? false
        let rerankTop = try j.int("rerank_top") ?? 0
        // One range and one message with the coordinator (which checks again, for ZeroMQ clients too).
        if let why = Coordinator.topKOutOfRange(topK, maxTopK: options.maxTopK) { throw RequestError.badRequest(why) }
        guard rerankTop >= 0, rerankTop <= ProtocolConstants.maxTopKLimit else {
            throw RequestError.badRequest("rerank_top = \(rerankTop) is not in 0...\(ProtocolConstants.maxTopKLimit)")
        }
        guard case .searchReply(let r) = try call(.searchRequest(SearchRequest(query: query, topK: topK, rerank: rerank, rerankTop: rerankTop)),
                                                  arrived: req.arrived) else {
            throw RequestError(status: 500, type: "internal", message: "the coordinator answered a search with another message")
        }
        // Re-ranked hits carry the CE logit as their score and the DE score beside it.
        let reranked = r.firstStageScores.count == r.hits.count && !r.hits.isEmpty
        var o = JSONOut()
        o.raw("{"); o.key("hits", first: true); o.raw("[")
        for (n, h) in r.hits.enumerated() {
            if n > 0 { o.raw(",") }
            o.raw("{"); o.key("id", first: true); o.string(h.docID)
            o.key("score"); o.number(reranked ? r.firstStageScores[n] : h.score); o.key("rank"); o.number(n + 1)
            if reranked { o.key("rerank_score"); o.number(h.score) }
            o.raw("}")
        }
        o.raw("]"); o.key("partial"); o.bool(r.partial)
        o.key("missing_shards"); o.raw("[" + r.missingShards.map(String.init).joined(separator: ",") + "]")
        o.key("timings_ms"); o.raw("{"); o.key("embed", first: true); o.number(r.embedMs); o.key("search"); o.number(r.searchMs)
        o.key("rerank"); o.number(r.rerankMs); o.key("total"); o.number(r.totalMs)
        o.key("queue"); o.number(max(0, (Date().timeIntervalSince1970 - req.arrived) * 1000 - r.totalMs)); o.raw("}}")
        return HTTPResponse(status: 200, body: o.bytes)
    }
}
