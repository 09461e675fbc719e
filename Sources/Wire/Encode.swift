import CProtobufC
import CStrataProto

/// Swift -> protobuf-c: builds the C message tree in an arena and packs it.
enum WireEncoder {
    static func pack(_ e: Envelope) throws -> [UInt8] {
        let a = Arena()
        let env: UnsafeMutablePointer<Strata__Envelope> = a.message(strata__envelope__init)
        env.pointee.request_id = e.requestID
        env.pointee.deadline_unix_ms = e.deadlineUnixMs
        env.pointee.incarnation = e.incarnation
        if let s = e.status { env.pointee.status = try status(s, a) }
        try fill(env, e.body, a)
        let size = strata__envelope__get_packed_size(env)
        var out = [UInt8](repeating: 0, count: size)
        let written = out.withUnsafeMutableBufferPointer { strata__envelope__pack(env, $0.baseAddress) }
        precondition(written == size, "protobuf-c packed \(written) of \(size) bytes")
        return out
    }

    static func u32(_ v: Int, _ field: String) throws -> UInt32 {
        guard let x = UInt32(exactly: v) else { throw WireError(.invalidArgument, "\(field) = \(v) does not fit in uint32") }
        return x
    }

    static func u64(_ v: Int, _ field: String) throws -> UInt64 {
        guard let x = UInt64(exactly: v) else { throw WireError(.invalidArgument, "\(field) = \(v) is negative") }
        return x
    }

    static func status(_ s: RPCStatus, _ a: Arena) throws -> UnsafeMutablePointer<Strata__Status> {
        let p: UnsafeMutablePointer<Strata__Status> = a.message(strata__status__init)
        p.pointee.code = Strata__StatusCode(rawValue: UInt32(s.code.rawValue))
        p.pointee.message = try a.string(s.message, field: "status.message")
        return p
    }

    static func documents(_ docs: [Document], _ a: Arena, _ field: String) throws -> UnsafeMutablePointer<UnsafeMutablePointer<Strata__Document>?>? {
        try a.array(docs.map { d -> UnsafeMutablePointer<Strata__Document>? in
            let p: UnsafeMutablePointer<Strata__Document> = a.message(strata__document__init)
            p.pointee.id = try a.string(d.id, field: "\(field).id")
            p.pointee.text = try a.string(d.text, field: "\(field).text")
            return p
        })
    }

    static func hits(_ hs: [Hit], _ a: Arena) throws -> UnsafeMutablePointer<UnsafeMutablePointer<Strata__Hit>?>? {
        try a.array(hs.map { h -> UnsafeMutablePointer<Strata__Hit>? in
            let p: UnsafeMutablePointer<Strata__Hit> = a.message(strata__hit__init)
            p.pointee.doc_index = try u64(h.docIndex, "hit.doc_index")
            p.pointee.doc_id = try a.string(h.docID, field: "hit.doc_id")
            p.pointee.score = h.score
            return p
        })
    }

    // swiftlint:disable:next function_body_length cyclomatic_complexity
    static func fill(_ env: UnsafeMutablePointer<Strata__Envelope>, _ body: Body, _ a: Arena) throws {
        switch body {
        case .registerRequest(let m):
            let p: UnsafeMutablePointer<Strata__RegisterRequest> = a.message(strata__register_request__init)
            p.pointee.worker_id = try a.string(m.workerID, field: "worker_id")
            p.pointee.protocol_version = try u32(m.protocolVersion, "protocol_version")
            p.pointee.n_shards_held = m.shardsHeld.count
            p.pointee.shards_held = a.array(try m.shardsHeld.map { try u32($0, "shards_held") })
            env.pointee.body_case = STRATA__ENVELOPE__BODY_REGISTER_REQUEST; env.pointee.register_request = p
        case .registerReply(let m):
            let p: UnsafeMutablePointer<Strata__RegisterReply> = a.message(strata__register_reply__init)
            p.pointee.heartbeat_interval_ms = try u32(m.heartbeatIntervalMs, "heartbeat_interval_ms")
            p.pointee.heartbeat_liveness = try u32(m.heartbeatLiveness, "heartbeat_liveness")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_REGISTER_REPLY; env.pointee.register_reply = p
        case .heartbeat(let m):
            let p: UnsafeMutablePointer<Strata__Heartbeat> = a.message(strata__heartbeat__init)
            p.pointee.worker_id = try a.string(m.workerID, field: "worker_id")
            p.pointee.sequence = m.sequence
            env.pointee.body_case = STRATA__ENVELOPE__BODY_HEARTBEAT; env.pointee.heartbeat = p
        case .loadModelRequest(let m):
            let p: UnsafeMutablePointer<Strata__LoadModelRequest> = a.message(strata__load_model_request__init)
            p.pointee.name = try a.string(m.name, field: "name")
            p.pointee.path = try a.string(m.path, field: "path")
            p.pointee.layer_embedding = m.embedLayer != nil ? 1 : 0
            p.pointee.embed_layer = try u32(m.embedLayer ?? 0, "embed_layer")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_LOAD_MODEL_REQUEST; env.pointee.load_model_request = p
        case .loadModelReply(let m):
            let p: UnsafeMutablePointer<Strata__LoadModelReply> = a.message(strata__load_model_reply__init)
            p.pointee.name = try a.string(m.name, field: "name")
            p.pointee.dimension = try u32(m.dimension, "dimension")
            p.pointee.cross_encoder = m.crossEncoder ? 1 : 0
            env.pointee.body_case = STRATA__ENVELOPE__BODY_LOAD_MODEL_REPLY; env.pointee.load_model_reply = p
        case .assignShardRequest(let m):
            let p: UnsafeMutablePointer<Strata__AssignShardRequest> = a.message(strata__assign_shard_request__init)
            p.pointee.shard_id = try u32(m.shardID, "shard_id")
            p.pointee.model = try a.string(m.model, field: "model")
            p.pointee.first_doc_index = try u64(m.firstDocIndex, "first_doc_index")
            p.pointee.n_documents = m.documents.count
            p.pointee.documents = try documents(m.documents, a, "documents")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_ASSIGN_SHARD_REQUEST; env.pointee.assign_shard_request = p
        case .assignShardReply(let m):
            let p: UnsafeMutablePointer<Strata__AssignShardReply> = a.message(strata__assign_shard_reply__init)
            p.pointee.shard_id = try u32(m.shardID, "shard_id")
            p.pointee.count = try u64(m.count, "count")
            p.pointee.dimension = try u32(m.dimension, "dimension")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_ASSIGN_SHARD_REPLY; env.pointee.assign_shard_reply = p
        case .dropShardRequest(let m):
            let p: UnsafeMutablePointer<Strata__DropShardRequest> = a.message(strata__drop_shard_request__init)
            p.pointee.shard_id = try u32(m.shardID, "shard_id")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_DROP_SHARD_REQUEST; env.pointee.drop_shard_request = p
        case .dropShardReply(let m):
            let p: UnsafeMutablePointer<Strata__DropShardReply> = a.message(strata__drop_shard_reply__init)
            p.pointee.shard_id = try u32(m.shardID, "shard_id")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_DROP_SHARD_REPLY; env.pointee.drop_shard_reply = p
        case .embedBatchRequest(let m):
            let p: UnsafeMutablePointer<Strata__EmbedBatchRequest> = a.message(strata__embed_batch_request__init)
            p.pointee.model = try a.string(m.model, field: "model")
            p.pointee.n_texts = m.texts.count
            p.pointee.texts = try a.strings(m.texts, field: "texts")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_EMBED_BATCH_REQUEST; env.pointee.embed_batch_request = p
        case .embedBatchReply(let m):
            let p: UnsafeMutablePointer<Strata__EmbedBatchReply> = a.message(strata__embed_batch_reply__init)
            p.pointee.rows = try u32(m.vectors.rows, "rows")
            p.pointee.dimension = try u32(m.vectors.dimension, "dimension")
            p.pointee.vectors = a.floats(m.vectors.data)
            env.pointee.body_case = STRATA__ENVELOPE__BODY_EMBED_BATCH_REPLY; env.pointee.embed_batch_reply = p
        case .searchShardRequest(let m):
            let p: UnsafeMutablePointer<Strata__SearchShardRequest> = a.message(strata__search_shard_request__init)
            p.pointee.shard_id = try u32(m.shardID, "shard_id")
            p.pointee.k = try u32(m.k, "k")
            p.pointee.dimension = try u32(m.query.count, "dimension")
            p.pointee.query = a.floats(m.query)
            env.pointee.body_case = STRATA__ENVELOPE__BODY_SEARCH_SHARD_REQUEST; env.pointee.search_shard_request = p
        case .searchShardReply(let m):
            let p: UnsafeMutablePointer<Strata__SearchShardReply> = a.message(strata__search_shard_reply__init)
            p.pointee.shard_id = try u32(m.shardID, "shard_id")
            p.pointee.n_hits = m.hits.count
            p.pointee.hits = try hits(m.hits, a)
            env.pointee.body_case = STRATA__ENVELOPE__BODY_SEARCH_SHARD_REPLY; env.pointee.search_shard_reply = p
        case .rerankRequest(let m):
            let p: UnsafeMutablePointer<Strata__RerankRequest> = a.message(strata__rerank_request__init)
            p.pointee.model = try a.string(m.model, field: "model")
            p.pointee.query = try a.string(m.query, field: "query")
            p.pointee.n_passages = m.passages.count
            p.pointee.passages = try documents(m.passages, a, "passages")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_RERANK_REQUEST; env.pointee.rerank_request = p
        case .rerankReply(let m):
            let p: UnsafeMutablePointer<Strata__RerankReply> = a.message(strata__rerank_reply__init)
            p.pointee.n_scores = m.scores.count
            p.pointee.scores = a.array(m.scores)
            env.pointee.body_case = STRATA__ENVELOPE__BODY_RERANK_REPLY; env.pointee.rerank_reply = p
        case .embedChunkRequest(let m):
            let p: UnsafeMutablePointer<Strata__EmbedChunkRequest> = a.message(strata__embed_chunk_request__init)
            p.pointee.job_id = try a.string(m.jobID, field: "job_id")
            p.pointee.chunk_index = try u32(m.chunkIndex, "chunk_index")
            p.pointee.model = try a.string(m.model, field: "model")
            p.pointee.n_texts = m.texts.count
            p.pointee.texts = try a.strings(m.texts, field: "texts")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_EMBED_CHUNK_REQUEST; env.pointee.embed_chunk_request = p
        case .embedChunkReply(let m):
            let p: UnsafeMutablePointer<Strata__EmbedChunkReply> = a.message(strata__embed_chunk_reply__init)
            p.pointee.job_id = try a.string(m.jobID, field: "job_id")
            p.pointee.chunk_index = try u32(m.chunkIndex, "chunk_index")
            p.pointee.rows = try u32(m.vectors.rows, "rows")
            p.pointee.dimension = try u32(m.vectors.dimension, "dimension")
            p.pointee.vectors = a.floats(m.vectors.data)
            env.pointee.body_case = STRATA__ENVELOPE__BODY_EMBED_CHUNK_REPLY; env.pointee.embed_chunk_reply = p
        case .searchRequest(let m):
            let p: UnsafeMutablePointer<Strata__SearchRequest> = a.message(strata__search_request__init)
            p.pointee.query = try a.string(m.query, field: "query")
            p.pointee.top_k = try u32(m.topK, "top_k")
            p.pointee.rerank = m.rerank ? 1 : 0
            p.pointee.rerank_top = try u32(m.rerankTop, "rerank_top")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_SEARCH_REQUEST; env.pointee.search_request = p
        case .searchReply(let m):
            let p: UnsafeMutablePointer<Strata__SearchReply> = a.message(strata__search_reply__init)
            p.pointee.n_hits = m.hits.count
            p.pointee.hits = try hits(m.hits, a)
            p.pointee.partial = m.partial ? 1 : 0
            p.pointee.n_missing_shards = m.missingShards.count
            p.pointee.missing_shards = a.array(try m.missingShards.map { try u32($0, "missing_shards") })
            p.pointee.embed_ms = m.embedMs; p.pointee.search_ms = m.searchMs
            p.pointee.rerank_ms = m.rerankMs; p.pointee.total_ms = m.totalMs
            p.pointee.n_first_stage_scores = m.firstStageScores.count
            p.pointee.first_stage_scores = a.array(m.firstStageScores)
            env.pointee.body_case = STRATA__ENVELOPE__BODY_SEARCH_REPLY; env.pointee.search_reply = p
        case .jobSubmitRequest(let m):
            let p: UnsafeMutablePointer<Strata__JobSubmitRequest> = a.message(strata__job_submit_request__init)
            p.pointee.corpus_path = try a.string(m.corpusPath, field: "corpus_path")
            p.pointee.model = try a.string(m.model, field: "model")
            p.pointee.out_dir = try a.string(m.outDir, field: "out_dir")
            p.pointee.chunk_size = try u32(m.chunkSize, "chunk_size")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_JOB_SUBMIT_REQUEST; env.pointee.job_submit_request = p
        case .jobSubmitReply(let m):
            let p: UnsafeMutablePointer<Strata__JobSubmitReply> = a.message(strata__job_submit_reply__init)
            p.pointee.job_id = try a.string(m.jobID, field: "job_id")
            p.pointee.chunks = try u32(m.chunks, "chunks")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_JOB_SUBMIT_REPLY; env.pointee.job_submit_reply = p
        case .jobStatusRequest(let m):
            let p: UnsafeMutablePointer<Strata__JobStatusRequest> = a.message(strata__job_status_request__init)
            p.pointee.job_id = try a.string(m.jobID, field: "job_id")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_JOB_STATUS_REQUEST; env.pointee.job_status_request = p
        case .jobStatusReply(let m):
            let p: UnsafeMutablePointer<Strata__JobStatusReply> = a.message(strata__job_status_reply__init)
            p.pointee.job_id = try a.string(m.jobID, field: "job_id")
            p.pointee.chunks_total = try u32(m.chunksTotal, "chunks_total")
            p.pointee.chunks_done = try u32(m.chunksDone, "chunks_done")
            p.pointee.docs_done = try u64(m.docsDone, "docs_done")
            p.pointee.docs_total = try u64(m.docsTotal, "docs_total")
            p.pointee.finished = m.finished ? 1 : 0
            p.pointee.eta_seconds = m.etaSeconds
            p.pointee.error = try a.string(m.error, field: "error")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_JOB_STATUS_REPLY; env.pointee.job_status_reply = p
        case .clusterStatusRequest:
            let p: UnsafeMutablePointer<Strata__ClusterStatusRequest> = a.message(strata__cluster_status_request__init)
            env.pointee.body_case = STRATA__ENVELOPE__BODY_CLUSTER_STATUS_REQUEST; env.pointee.cluster_status_request = p
        case .clusterStatusReply(let m):
            let p: UnsafeMutablePointer<Strata__ClusterStatusReply> = a.message(strata__cluster_status_reply__init)
            p.pointee.workers_live = try u32(m.workersLive, "workers_live")
            p.pointee.shards_total = try u32(m.shardsTotal, "shards_total")
            p.pointee.shards_ready = try u32(m.shardsReady, "shards_ready")
            p.pointee.ready = m.ready ? 1 : 0
            p.pointee.docs_total = try u64(m.docsTotal, "docs_total")
            p.pointee.docs_ready = try u64(m.docsReady, "docs_ready")
            p.pointee.docs_per_second = m.docsPerSecond
            p.pointee.eta_seconds = m.etaSeconds
            p.pointee.n_shards = m.shards.count
            p.pointee.shards = try a.array(m.shards.map { sp -> UnsafeMutablePointer<Strata__ShardProgress>? in
                let q: UnsafeMutablePointer<Strata__ShardProgress> = a.message(strata__shard_progress__init)
                q.pointee.shard_id = try u32(sp.shardID, "shards.shard_id")
                q.pointee.documents = try u64(sp.documents, "shards.documents")
                q.pointee.replicas_ready = try u32(sp.replicasReady, "shards.replicas_ready")
                q.pointee.replicas_wanted = try u32(sp.replicasWanted, "shards.replicas_wanted")
                q.pointee.indexing_seconds = sp.indexingSeconds
                q.pointee.done_seconds = sp.doneSeconds
                return q
            })
            env.pointee.body_case = STRATA__ENVELOPE__BODY_CLUSTER_STATUS_REPLY; env.pointee.cluster_status_reply = p
        case .jobCancelRequest(let m):
            let p: UnsafeMutablePointer<Strata__JobCancelRequest> = a.message(strata__job_cancel_request__init)
            p.pointee.job_id = try a.string(m.jobID, field: "job_id")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_JOB_CANCEL_REQUEST; env.pointee.job_cancel_request = p
        case .jobCancelReply(let m):
            let p: UnsafeMutablePointer<Strata__JobCancelReply> = a.message(strata__job_cancel_reply__init)
            p.pointee.job_id = try a.string(m.jobID, field: "job_id")
            p.pointee.cancelled = m.cancelled ? 1 : 0
            p.pointee.error = try a.string(m.error, field: "error")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_JOB_CANCEL_REPLY; env.pointee.job_cancel_reply = p
        case .embedTextsRequest(let m):
            let p: UnsafeMutablePointer<Strata__EmbedTextsRequest> = a.message(strata__embed_texts_request__init)
            p.pointee.n_texts = m.texts.count
            p.pointee.texts = try a.strings(m.texts, field: "texts")
            p.pointee.truncate = m.truncate ? 1 : 0
            env.pointee.body_case = STRATA__ENVELOPE__BODY_EMBED_TEXTS_REQUEST; env.pointee.embed_texts_request = p
        case .embedTextsReply(let m):
            let p: UnsafeMutablePointer<Strata__EmbedTextsReply> = a.message(strata__embed_texts_reply__init)
            p.pointee.rows = try u32(m.vectors.rows, "rows")
            p.pointee.dimension = try u32(m.vectors.dimension, "dimension")
            p.pointee.vectors = a.floats(m.vectors.data)
            p.pointee.prompt_tokens = try u64(m.promptTokens, "prompt_tokens")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_EMBED_TEXTS_REPLY; env.pointee.embed_texts_reply = p
        case .rerankTextsRequest(let m):
            let p: UnsafeMutablePointer<Strata__RerankTextsRequest> = a.message(strata__rerank_texts_request__init)
            p.pointee.query = try a.string(m.query, field: "query")
            p.pointee.n_texts = m.texts.count
            p.pointee.texts = try a.strings(m.texts, field: "texts")
            p.pointee.truncate = m.truncate ? 1 : 0
            env.pointee.body_case = STRATA__ENVELOPE__BODY_RERANK_TEXTS_REQUEST; env.pointee.rerank_texts_request = p
        case .rerankTextsReply(let m):
            let p: UnsafeMutablePointer<Strata__RerankTextsReply> = a.message(strata__rerank_texts_reply__init)
            p.pointee.n_scores = m.scores.count
            p.pointee.scores = a.array(m.scores)
            p.pointee.prompt_tokens = try u64(m.promptTokens, "prompt_tokens")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_RERANK_TEXTS_REPLY; env.pointee.rerank_texts_reply = p
        case .workerLeavingRequest(let m):
            let p: UnsafeMutablePointer<Strata__WorkerLeavingRequest> = a.message(strata__worker_leaving_request__init)
            p.pointee.worker_id = try a.string(m.workerID, field: "worker_id")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_WORKER_LEAVING_REQUEST; env.pointee.worker_leaving_request = p
        case .workerLeavingReply(let m):
            let p: UnsafeMutablePointer<Strata__WorkerLeavingReply> = a.message(strata__worker_leaving_reply__init)
            p.pointee.shards_moved = try u32(m.shardsMoved, "shards_moved")
            p.pointee.complete = m.complete ? 1 : 0
            p.pointee.message = try a.string(m.message, field: "message")
            env.pointee.body_case = STRATA__ENVELOPE__BODY_WORKER_LEAVING_REPLY; env.pointee.worker_leaving_reply = p
        case .error(let s):
            env.pointee.body_case = STRATA__ENVELOPE__BODY_ERROR; env.pointee.error = try status(s, a)
        }
    }
}
