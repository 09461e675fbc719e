import CProtobufC
import CStrataProto

/// protobuf-c -> Swift. protobuf-c's unpack returns NULL on a malformed frame: that becomes
/// `WireError(.invalidArgument)`, never a crash. Content checks (vector byte counts, UTF-8)
/// throw `.invalidArgument` carrying the request id so the sender can be answered.
enum WireDecoder {
    static let maxDimension = 1 << 16

    static func unpack(_ bytes: [UInt8], maxBytes: Int) throws -> Envelope {
        guard bytes.count <= maxBytes else {
            throw WireError(.resourceExhausted, "frame of \(bytes.count) bytes is over the \(maxBytes)-byte limit")
        }
        guard let env = bytes.withUnsafeBufferPointer({ strata__envelope__unpack(nil, $0.count, $0.baseAddress) }) else {
            throw WireError(.invalidArgument, "frame of \(bytes.count) bytes is not a strata.Envelope (protobuf decode failed)")
        }
        defer { strata__envelope__free_unpacked(env, nil) }
        let id = env.pointee.request_id
        do {
            var status: RPCStatus? = nil
            if let s = env.pointee.status { status = try read(s) }
            return Envelope(requestID: id, deadlineUnixMs: env.pointee.deadline_unix_ms, status: status, body: try body(env),
                            incarnation: env.pointee.incarnation)
        } catch var e as WireError {
            e.requestID = id
            throw e
        }
    }

    static func read(_ s: UnsafeMutablePointer<Strata__Status>) throws -> RPCStatus {
        // An unknown code (a newer peer) reads as UNKNOWN, as gRPC does.
        let code = StatusCode(rawValue: Int32(bitPattern: s.pointee.code.rawValue)) ?? .unknown
        return RPCStatus(code, try CRead.string(s.pointee.message, "status.message"))
    }

    static func documents(_ n: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<Strata__Document>?>?, _ f: String) throws -> [Document] {
        guard n > 0, let p else { return [] }
        return try (0..<n).map { i in
            guard let d = p[i] else { throw WireError(.invalidArgument, "\(f)[\(i)] missing") }
            return Document(id: try CRead.string(d.pointee.id, "\(f)[\(i)].id"), text: try CRead.string(d.pointee.text, "\(f)[\(i)].text"))
        }
    }

    static func hits(_ n: Int, _ p: UnsafeMutablePointer<UnsafeMutablePointer<Strata__Hit>?>?) throws -> [Hit] {
        guard n > 0, let p else { return [] }
        return try (0..<n).map { i in
            guard let h = p[i], h.pointee.doc_index <= UInt64(Int.max) else { throw WireError(.invalidArgument, "hits[\(i)] invalid") }
            return Hit(docIndex: Int(h.pointee.doc_index), docID: try CRead.string(h.pointee.doc_id, "hits[\(i)].doc_id"), score: h.pointee.score)
        }
    }

    static func vectors(rows: UInt32, dimension: UInt32, _ b: ProtobufCBinaryData) throws -> Vectors {
        let d = try CRead.checkedCount(dimension, limit: maxDimension, "dimension")
        let r = Int(rows)
        let data = try CRead.floats(b, expected: r * d, "vectors")
        return Vectors(rows: r, dimension: d, data: data)
    }

    static func int(_ v: UInt64, _ f: String) throws -> Int {
        guard v <= UInt64(Int.max) else { throw WireError(.invalidArgument, "\(f) = \(v) is too large") }
        return Int(v)
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    static func body(_ env: UnsafeMutablePointer<Strata__Envelope>) throws -> Body {
        let e = env.pointee
        let s = CRead.string
        switch e.body_case {
        case STRATA__ENVELOPE__BODY_REGISTER_REQUEST:
            let m = e.register_request.pointee
            return .registerRequest(RegisterRequest(workerID: try s(m.worker_id, "worker_id"), protocolVersion: Int(m.protocol_version),
                                                    shardsHeld: CRead.array(m.n_shards_held, m.shards_held).map { Int($0) }))
        case STRATA__ENVELOPE__BODY_REGISTER_REPLY:
            let m = e.register_reply.pointee
            return .registerReply(RegisterReply(heartbeatIntervalMs: Int(m.heartbeat_interval_ms), heartbeatLiveness: Int(m.heartbeat_liveness)))
        case STRATA__ENVELOPE__BODY_HEARTBEAT:
            let m = e.heartbeat.pointee
            return .heartbeat(Heartbeat(workerID: try s(m.worker_id, "worker_id"), sequence: m.sequence))
        case STRATA__ENVELOPE__BODY_LOAD_MODEL_REQUEST:
            let m = e.load_model_request.pointee
            return .loadModelRequest(LoadModelRequest(name: try s(m.name, "name"), path: try s(m.path, "path"),
                                                      embedLayer: m.layer_embedding != 0 ? Int(m.embed_layer) : nil))
        case STRATA__ENVELOPE__BODY_LOAD_MODEL_REPLY:
            let m = e.load_model_reply.pointee
            return .loadModelReply(LoadModelReply(name: try s(m.name, "name"), dimension: Int(m.dimension), crossEncoder: m.cross_encoder != 0))
        case STRATA__ENVELOPE__BODY_ASSIGN_SHARD_REQUEST:
            let m = e.assign_shard_request.pointee
            return .assignShardRequest(AssignShardRequest(shardID: Int(m.shard_id), model: try s(m.model, "model"),
                                                          firstDocIndex: try int(m.first_doc_index, "first_doc_index"),
                                                          documents: try documents(m.n_documents, m.documents, "documents")))
        case STRATA__ENVELOPE__BODY_ASSIGN_SHARD_REPLY:
            let m = e.assign_shard_reply.pointee
            return .assignShardReply(AssignShardReply(shardID: Int(m.shard_id), count: try int(m.count, "count"), dimension: Int(m.dimension)))
        case STRATA__ENVELOPE__BODY_DROP_SHARD_REQUEST:
            return .dropShardRequest(DropShardRequest(shardID: Int(e.drop_shard_request.pointee.shard_id)))
        case STRATA__ENVELOPE__BODY_DROP_SHARD_REPLY:
            return .dropShardReply(DropShardReply(shardID: Int(e.drop_shard_reply.pointee.shard_id)))
        case STRATA__ENVELOPE__BODY_EMBED_BATCH_REQUEST:
            let m = e.embed_batch_request.pointee
            return .embedBatchRequest(EmbedBatchRequest(model: try s(m.model, "model"), texts: try CRead.strings(m.n_texts, m.texts, "texts")))
        case STRATA__ENVELOPE__BODY_EMBED_BATCH_REPLY:
            let m = e.embed_batch_reply.pointee
            return .embedBatchReply(EmbedBatchReply(vectors: try vectors(rows: m.rows, dimension: m.dimension, m.vectors)))
        case STRATA__ENVELOPE__BODY_SEARCH_SHARD_REQUEST:
            let m = e.search_shard_request.pointee
            let d = try CRead.checkedCount(m.dimension, limit: maxDimension, "dimension")
            return .searchShardRequest(SearchShardRequest(shardID: Int(m.shard_id), k: Int(m.k), query: try CRead.floats(m.query, expected: d, "query")))
        case STRATA__ENVELOPE__BODY_SEARCH_SHARD_REPLY:
            let m = e.search_shard_reply.pointee
            return .searchShardReply(SearchShardReply(shardID: Int(m.shard_id), hits: try hits(m.n_hits, m.hits)))
        case STRATA__ENVELOPE__BODY_RERANK_REQUEST:
            let m = e.rerank_request.pointee
            return .rerankRequest(RerankRequest(model: try s(m.model, "model"), query: try s(m.query, "query"),
                                                passages: try documents(m.n_passages, m.passages, "passages")))
        case STRATA__ENVELOPE__BODY_RERANK_REPLY:
            let m = e.rerank_reply.pointee
            return .rerankReply(RerankReply(scores: CRead.array(m.n_scores, m.scores)))
        case STRATA__ENVELOPE__BODY_EMBED_CHUNK_REQUEST:
            let m = e.embed_chunk_request.pointee
            return .embedChunkRequest(EmbedChunkRequest(jobID: try s(m.job_id, "job_id"), chunkIndex: Int(m.chunk_index),
                                                        model: try s(m.model, "model"), texts: try CRead.strings(m.n_texts, m.texts, "texts")))
        case STRATA__ENVELOPE__BODY_EMBED_CHUNK_REPLY:
            let m = e.embed_chunk_reply.pointee
            return .embedChunkReply(EmbedChunkReply(jobID: try s(m.job_id, "job_id"), chunkIndex: Int(m.chunk_index),
                                                    vectors: try vectors(rows: m.rows, dimension: m.dimension, m.vectors)))
        case STRATA__ENVELOPE__BODY_SEARCH_REQUEST:
            let m = e.search_request.pointee
            return .searchRequest(SearchRequest(query: try s(m.query, "query"), topK: Int(m.top_k), rerank: m.rerank != 0, rerankTop: Int(m.rerank_top)))
        case STRATA__ENVELOPE__BODY_SEARCH_REPLY:
            let m = e.search_reply.pointee
            return .searchReply(SearchReply(hits: try hits(m.n_hits, m.hits), partial: m.partial != 0,
                                            missingShards: CRead.array(m.n_missing_shards, m.missing_shards).map { Int($0) },
                                            embedMs: m.embed_ms, searchMs: m.search_ms, rerankMs: m.rerank_ms, totalMs: m.total_ms,
                                            firstStageScores: CRead.array(m.n_first_stage_scores, m.first_stage_scores)))
        case STRATA__ENVELOPE__BODY_JOB_SUBMIT_REQUEST:
            let m = e.job_submit_request.pointee
            return .jobSubmitRequest(JobSubmitRequest(corpusPath: try s(m.corpus_path, "corpus_path"), model: try s(m.model, "model"),
                                                      outDir: try s(m.out_dir, "out_dir"), chunkSize: Int(m.chunk_size)))
        case STRATA__ENVELOPE__BODY_JOB_SUBMIT_REPLY:
            let m = e.job_submit_reply.pointee
            return .jobSubmitReply(JobSubmitReply(jobID: try s(m.job_id, "job_id"), chunks: Int(m.chunks)))
        case STRATA__ENVELOPE__BODY_JOB_STATUS_REQUEST:
            return .jobStatusRequest(JobStatusRequest(jobID: try s(e.job_status_request.pointee.job_id, "job_id")))
        case STRATA__ENVELOPE__BODY_JOB_STATUS_REPLY:
            let m = e.job_status_reply.pointee
            return .jobStatusReply(JobStatusReply(jobID: try s(m.job_id, "job_id"), chunksTotal: Int(m.chunks_total), chunksDone: Int(m.chunks_done),
                                                  docsDone: try int(m.docs_done, "docs_done"), docsTotal: try int(m.docs_total, "docs_total"),
                                                  finished: m.finished != 0, etaSeconds: m.eta_seconds, error: try s(m.error, "error")))
        case STRATA__ENVELOPE__BODY_CLUSTER_STATUS_REQUEST:
            return .clusterStatusRequest
        case STRATA__ENVELOPE__BODY_CLUSTER_STATUS_REPLY:
            let m = e.cluster_status_reply.pointee
            var shards: [ShardProgress] = []
            if m.n_shards > 0, let sp = m.shards {
                shards = try (0..<m.n_shards).map { i in
                    guard let q = sp[i] else { throw WireError(.invalidArgument, "shards[\(i)] missing") }
                    return ShardProgress(shardID: Int(q.pointee.shard_id), documents: try int(q.pointee.documents, "shards[\(i)].documents"),
                                         replicasReady: Int(q.pointee.replicas_ready), replicasWanted: Int(q.pointee.replicas_wanted),
                                         indexingSeconds: q.pointee.indexing_seconds, doneSeconds: q.pointee.done_seconds)
                }
            }
            return .clusterStatusReply(ClusterStatusReply(workersLive: Int(m.workers_live), shardsTotal: Int(m.shards_total),
                                                          shardsReady: Int(m.shards_ready), ready: m.ready != 0,
                                                          docsTotal: try int(m.docs_total, "docs_total"), docsReady: try int(m.docs_ready, "docs_ready"),
                                                          docsPerSecond: m.docs_per_second, etaSeconds: m.eta_seconds, shards: shards))
        case STRATA__ENVELOPE__BODY_JOB_CANCEL_REQUEST:
            return .jobCancelRequest(JobCancelRequest(jobID: try s(e.job_cancel_request.pointee.job_id, "job_id")))
        case STRATA__ENVELOPE__BODY_JOB_CANCEL_REPLY:
            let m = e.job_cancel_reply.pointee
            return .jobCancelReply(JobCancelReply(jobID: try s(m.job_id, "job_id"), cancelled: m.cancelled != 0, error: try s(m.error, "error")))
        case STRATA__ENVELOPE__BODY_EMBED_TEXTS_REQUEST:
            let m = e.embed_texts_request.pointee
            return .embedTextsRequest(EmbedTextsRequest(texts: try CRead.strings(m.n_texts, m.texts, "texts"), truncate: m.truncate != 0))
        case STRATA__ENVELOPE__BODY_EMBED_TEXTS_REPLY:
            let m = e.embed_texts_reply.pointee
            return .embedTextsReply(EmbedTextsReply(vectors: try vectors(rows: m.rows, dimension: m.dimension, m.vectors),
                                                    promptTokens: try int(m.prompt_tokens, "prompt_tokens")))
        case STRATA__ENVELOPE__BODY_RERANK_TEXTS_REQUEST:
            let m = e.rerank_texts_request.pointee
            return .rerankTextsRequest(RerankTextsRequest(query: try s(m.query, "query"), texts: try CRead.strings(m.n_texts, m.texts, "texts"),
                                                          truncate: m.truncate != 0))
        case STRATA__ENVELOPE__BODY_RERANK_TEXTS_REPLY:
            let m = e.rerank_texts_reply.pointee
            return .rerankTextsReply(RerankTextsReply(scores: CRead.array(m.n_scores, m.scores), promptTokens: try int(m.prompt_tokens, "prompt_tokens")))
        case STRATA__ENVELOPE__BODY_WORKER_LEAVING_REQUEST:
            return .workerLeavingRequest(WorkerLeavingRequest(workerID: try s(e.worker_leaving_request.pointee.worker_id, "worker_id")))
        case STRATA__ENVELOPE__BODY_WORKER_LEAVING_REPLY:
            let m = e.worker_leaving_reply.pointee
            return .workerLeavingReply(WorkerLeavingReply(shardsMoved: Int(m.shards_moved), complete: m.complete != 0, message: try s(m.message, "message")))
        case STRATA__ENVELOPE__BODY_ERROR:
            return .error(try read(e.error))
        default:
            throw WireError(.invalidArgument, "envelope has no body (or one this version does not know: case \(e.body_case.rawValue))")
        }
    }
}
