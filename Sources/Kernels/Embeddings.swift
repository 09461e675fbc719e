// BERT embeddings gather over a packed batch (see PackedAttention.swift for the packing), shared by
// inference and training:
// out[n, :] = wte[ids[n]] + wpe[pos[n]] + wtt[types[n]]  (before LayerNorm), pos = index within its sequence.
// ids, types, positions [N]; wte [V, H]; wpe [P, H]; wtt [T, H]; out [N, H].

/// The table row of a token id (or token type id): ids outside 0..<rows are clamped to the nearest row,
/// the one behaviour of inference and training (a tokenizer whose vocabulary exceeds the model's is
/// refused when a model is loaded, so only a caller's bad ids reach this).
@inline(__always)
public func embeddingRow(_ id: Int32, rows: Int) -> Int { min(max(Int(id), 0), rows - 1) }

/// Sums word, position and token-type embeddings for every token; `vocab` and `types` are the rows of
/// `wte` and `wtt` (ids are clamped into them, see `embeddingRow`); positions must be < the rows of `wpe`.
public func embeddingsForward(out: UnsafeMutablePointer<Float>, ids: [Int32], types: [Int32], positions: [Int32],
                              wte: UnsafePointer<Float>, vocab: Int, wpe: UnsafePointer<Float>,
                              wtt: UnsafePointer<Float>, typeVocab: Int, hidden: Int) {
    for n in 0..<ids.count {
        let o = out + n * hidden
        let w = wte + embeddingRow(ids[n], rows: vocab) * hidden, p = wpe + Int(positions[n]) * hidden
        let y = wtt + embeddingRow(types[n], rows: typeVocab) * hidden
        for i in 0..<hidden { o[i] = w[i] + p[i] + y[i] }
    }
}
