// Checkpoints in Hugging Face / sentence-transformers layout, plus the resumable training state.
//   OUT/                       the final model
//   OUT/checkpoint/            the latest checkpoint: the same model files + trainer_state.json + optimizer.safetensors
// A checkpoint is written to OUT/checkpoint.tmp and then swapped in, so a kill never leaves a half-written one.

import Foundation
import Model

/// What kind of model directory to write.
public enum SavedModelKind: Sendable {
    /// sentence-transformers DE: Transformer + Pooling(mean) + Normalize; `maxSeqLength` for sentence_bert_config.json.
    case dualEncoder(maxSeqLength: Int)
    /// transformers BertForSequenceClassification with one logit (sentence-transformers CrossEncoder loads it).
    case crossEncoder
}

/// Tokenizer files copied from the source model when present.
let tokenizerFiles = ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]

/// Writes a complete model directory: model.safetensors + config.json (via BertWeights.save), tokenizer files from
/// `tokenizerDir`, and for a DE modules.json, sentence_bert_config.json, 1_Pooling/config.json and 2_Normalize/.
public func writeModelDirectory(_ weights: BertWeights, kind: SavedModelKind, tokenizerDir: URL, to dir: URL) throws {
    let fm = FileManager.default
    var w = weights
    switch kind {
    case .dualEncoder:
        w.config.architectures = ["BertModel"]
        w.config.id2label = nil
    case .crossEncoder:
        w.config.architectures = ["BertForSequenceClassification"]
        if w.config.id2label?.count != w.classifier?.outFeatures {
            w.config.id2label = Dictionary(uniqueKeysWithValues: (0..<(w.classifier?.outFeatures ?? 1)).map { ("\($0)", "LABEL_\($0)") })
        }
    }
    try w.save(to: dir)
    for f in tokenizerFiles {
        let src = tokenizerDir.appendingPathComponent(f), dst = dir.appendingPathComponent(f)
        guard fm.fileExists(atPath: src.path) else { continue }
        if fm.fileExists(atPath: dst.path) { try fm.removeItem(at: dst) }
        try fm.copyItem(at: src, to: dst)
    }
    if case .dualEncoder(let maxSeq) = kind {
        let modules: [[String: Any]] = [
            ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
            ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
            ["idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"],
        ]
        try writeJSON(modules, to: dir.appendingPathComponent("modules.json"))
        try writeJSON(["max_seq_length": maxSeq, "do_lower_case": false], to: dir.appendingPathComponent("sentence_bert_config.json"))
        let pooling = dir.appendingPathComponent("1_Pooling")
        try fm.createDirectory(at: pooling, withIntermediateDirectories: true)
        try writeJSON(["word_embedding_dimension": w.config.hiddenSize, "pooling_mode_cls_token": false,
                       "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false,
                       "pooling_mode_mean_sqrt_len_tokens": false], to: pooling.appendingPathComponent("config.json"))
        try fm.createDirectory(at: dir.appendingPathComponent("2_Normalize"), withIntermediateDirectories: true)
    }
}

func writeJSON(_ obj: Any, to url: URL) throws {
    try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys]).write(to: url, options: .atomic)
}

/// The latest complete checkpoint under `out`, if any (a finished OUT/checkpoint.tmp counts when the swap was cut).
public func latestCheckpoint(in out: URL) -> URL? {
    let fm = FileManager.default
    for name in ["checkpoint", "checkpoint.tmp"] {
        let d = out.appendingPathComponent(name)
        if fm.fileExists(atPath: d.appendingPathComponent(CheckpointFiles.state).path) { return d }
    }
    return nil
}

/// Saves model + training state as OUT/checkpoint (written to OUT/checkpoint.tmp first; the state file last).
public func saveCheckpoint(_ trainer: Trainer, weights: BertWeights, kind: SavedModelKind, tokenizerDir: URL, out: URL) throws {
    let fm = FileManager.default
    let tmp = out.appendingPathComponent("checkpoint.tmp"), final = out.appendingPathComponent("checkpoint")
    if fm.fileExists(atPath: tmp.path) { try fm.removeItem(at: tmp) }
    try writeModelDirectory(weights, kind: kind, tokenizerDir: tokenizerDir, to: tmp)
    try saveTrainingState(trainer, to: tmp)
    if fm.fileExists(atPath: final.path) { try fm.removeItem(at: final) }
    try fm.moveItem(at: tmp, to: final)
}
