// Saving and loading what a resume needs beside the model weights:
//   trainer_state.json   TrainerState (step, totals, RNG state, options, loss history)
//   optimizer.safetensors AdamW moments "exp_avg" and "exp_avg_sq" (F32, [layout.total]), read and
//                         written by Model's SafeTensorsFile (the one safetensors reader/writer).

import Foundation
import Model

/// File names inside a checkpoint directory.
public enum CheckpointFiles {
    public static let state = "trainer_state.json"
    public static let optimizer = "optimizer.safetensors"
}

/// Writes trainer_state.json and optimizer.safetensors into `dir` (which must exist).
public func saveTrainingState(_ trainer: Trainer, to dir: URL) throws {
    let m = trainer.optimizer.m, v = trainer.optimizer.v
    try SafeTensorsFile.write([("exp_avg", [m.count], m), ("exp_avg_sq", [v.count], v)],
                              to: dir.appendingPathComponent(CheckpointFiles.optimizer).path)
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
    let path = dir.appendingPathComponent(CheckpointFiles.optimizer).path
    do {
        let file = try SafeTensorsFile(path: path)
        return (state, try file.floats("exp_avg"), try file.floats("exp_avg_sq"))
    } catch {
        throw TrainError.checkpoint("\(path): cannot read the optimizer state (\(error))")
    }
}
