// Saving and loading what a resume needs beside the model weights:
//   trainer_state.json   TrainerState (step, totals, RNG state, options, loss history)
//   optimizer.safetensors AdamW moments "exp_avg" and "exp_avg_sq" (F32, [layout.total]) in safetensors format.

import Foundation

/// File names inside a checkpoint directory.
public enum CheckpointFiles {
    public static let state = "trainer_state.json"
    public static let optimizer = "optimizer.safetensors"
}

/// Writes trainer_state.json and optimizer.safetensors into `dir` (which must exist).
public func saveTrainingState(_ trainer: Trainer, to dir: URL) throws {
    try writeSafetensorsF32(["exp_avg": trainer.optimizer.m, "exp_avg_sq": trainer.optimizer.v],
                            to: dir.appendingPathComponent(CheckpointFiles.optimizer))
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    // written last: its presence marks a complete checkpoint
    try enc.encode(trainer.state).write(to: dir.appendingPathComponent(CheckpointFiles.state), options: .atomic)
}

/// Reads what `saveTrainingState` wrote; errors name the file.
public func loadTrainingState(from dir: URL) throws -> (state: TrainerState, m: [Float], v: [Float]) {
    let sURL = dir.appendingPathComponent(CheckpointFiles.state)
    let state: TrainerState
    do { state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: sURL)) } catch {
        throw TrainError.checkpoint("\(sURL.path): cannot read trainer state (\(error))")
    }
    let t = try readSafetensorsF32(dir.appendingPathComponent(CheckpointFiles.optimizer))
    guard let m = t["exp_avg"], let v = t["exp_avg_sq"] else {
        throw TrainError.checkpoint("\(dir.appendingPathComponent(CheckpointFiles.optimizer).path): missing exp_avg / exp_avg_sq")
    }
    return (state, m, v)
}

/// Writes 1-D F32 tensors as a safetensors file (8-byte little-endian header size, JSON header, data).
public func writeSafetensorsF32(_ tensors: [String: [Float]], to url: URL) throws {
    try writeSafetensorsF32(named: tensors.keys.sorted().map { ($0, [tensors[$0]!.count], tensors[$0]!) }, to: url)
}

/// Writes F32 tensors with their shapes as a safetensors file, in the given order.
public func writeSafetensorsF32(named tensors: [(name: String, shape: [Int], data: [Float])], to url: URL) throws {
    var header: [String: Any] = [:]
    var offset = 0
    for t in tensors {
        precondition(t.shape.reduce(1, *) == t.data.count, "\(t.name): shape \(t.shape) for \(t.data.count) values")
        let bytes = t.data.count * 4
        header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]]
        offset += bytes
    }
    var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    while json.count % 8 != 0 { json.append(0x20) }
    var out = Data()
    var size = UInt64(json.count).littleEndian
    withUnsafeBytes(of: &size) { out.append(contentsOf: $0) }
    out.append(json)
    for t in tensors { t.data.withUnsafeBytes { out.append(contentsOf: $0) } }
    try out.write(to: url, options: .atomic)
}

/// Reads the F32 tensors of a safetensors file written by `writeSafetensorsF32` (flattened).
public func readSafetensorsF32(_ url: URL) throws -> [String: [Float]] {
    let data: Data
    do { data = try Data(contentsOf: url) } catch { throw TrainError.checkpoint("\(url.path): cannot read (\(error.localizedDescription))") }
    guard data.count >= 8 else { throw TrainError.checkpoint("\(url.path): truncated safetensors file") }
    let n = data.prefix(8).withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))) }
    guard n > 0, 8 + n <= data.count,
          let header = try? JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + n))) as? [String: Any] else {
        throw TrainError.checkpoint("\(url.path): bad safetensors header")
    }
    var out: [String: [Float]] = [:]
    for (name, any) in header where name != "__metadata__" {
        guard let d = any as? [String: Any], d["dtype"] as? String == "F32",
              let offs = d["data_offsets"] as? [Int], offs.count == 2, offs[0] <= offs[1],
              8 + n + offs[1] <= data.count, (offs[1] - offs[0]) % 4 == 0 else {
            throw TrainError.checkpoint("\(url.path): tensor \(name) is not a valid F32 entry")
        }
        let start = 8 + n + offs[0], count = (offs[1] - offs[0]) / 4
        out[name] = data.subdata(in: start..<(start + count * 4)).withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }
    return out
}
