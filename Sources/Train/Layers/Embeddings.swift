// Backward of the BERT embeddings gather (the forward is Kernels' embeddingsForward, shared with inference).
// ids, types, positions [N]; dwte [V, H]; dwpe [P, H]; dwtt [T, H]; dout [N, H].

import Kernels

/// Backward of `embeddingsForward`: scatters dout into the tables (ACCUMULATES dwte, dwpe, dwtt), to the
/// same (clamped) rows the forward read.
public func embeddingsBackward(dwte: UnsafeMutablePointer<Float>, dwpe: UnsafeMutablePointer<Float>,
                               dwtt: UnsafeMutablePointer<Float>, dout: UnsafePointer<Float>,
                               ids: [Int32], types: [Int32], positions: [Int32], vocab: Int, typeVocab: Int, hidden: Int) {
    for n in 0..<ids.count {
        let d = dout + n * hidden
        let w = dwte + embeddingRow(ids[n], rows: vocab) * hidden, p = dwpe + Int(positions[n]) * hidden
        let y = dwtt + embeddingRow(types[n], rows: typeVocab) * hidden
        for i in 0..<hidden { w[i] += d[i]; p[i] += d[i]; y[i] += d[i] }
    }
}
