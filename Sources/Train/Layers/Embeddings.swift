// BERT embeddings gather over a packed batch (see Attention.swift for the packing):
// out[n, :] = wte[ids[n]] + wpe[pos[n]] + wtt[types[n]]  (before LayerNorm), pos = index within its sequence.
// ids, types, positions [N]; wte [V, H]; wpe [P, H]; wtt [T, H]; out [N, H].

/// Sums word, position and token-type embeddings for every token.
public func embeddingsForward(out: UnsafeMutablePointer<Float>, ids: [Int32], types: [Int32], positions: [Int32],
                              wte: UnsafePointer<Float>, wpe: UnsafePointer<Float>,
                              wtt: UnsafePointer<Float>, hidden: Int) {
    for n in 0..<ids.count {
        let o = out + n * hidden
        let w = wte + Int(ids[n]) * hidden, p = wpe + Int(positions[n]) * hidden, y = wtt + Int(types[n]) * hidden
        for i in 0..<hidden { o[i] = w[i] + p[i] + y[i] }
    }
}

/// Backward of `embeddingsForward`: scatters dout into the tables (ACCUMULATES dwte, dwpe, dwtt).
public func embeddingsBackward(dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>,
                               dwtt: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                               ids: [Int32], types: [Int32], positions: [Int32], hidden: Int) {
    for n in 0..<ids.count {
        let d = dout + n * hidden
        let w = dwte + Int(ids[n]) * hidden, p = dwpe + Int(positions[n]) * hidden, y = dwtt + Int(types[n]) * hidden
        for i in 0..<hidden { w[i] += d[i]; p[i] += d[i]; y[i] += d[i] }
    }
}
