// Knowledge infusion (paper, "DE-k CE"): a k-layer dual encoder whose embeddings and first `copy` encoder
// layers come from a source model (the cross encoder, or a DE for the DE-k DE baseline), the rest fresh.

import Kernels
import Model

/// Where DE-k's copied parts come from.
public enum InfusionInit: String, CaseIterable, Sendable {
    /// Embeddings + first `copy` layers from the cross encoder (DE-k CE).
    case ce
    /// The same from a dual encoder (DE-k DE baseline).
    case de
    /// Everything freshly initialised, N(0, 0.02) (DE-k random baseline; shapes from the source).
    case random
}

/// Builds the trainable DE-k: `layers` encoder layers, no classifier head. With `.ce`/`.de` the embeddings and
/// layers 0..<copy are copied from `source` and layers copy..<layers are N(0, 0.02) (HF BERT init); with `.random`
/// every tensor is fresh. The same seed gives the same model.
public func buildInfusedDualEncoder(source: BertWeights, layers: Int, copy: Int, initFrom: InfusionInit,
                                    seed: UInt64) throws -> TrainableBert {
    guard layers >= 1 else { throw TrainError.config("--layers must be at least 1, got \(layers)") }
    guard copy >= 0, copy <= layers else { throw TrainError.config("--copy \(copy) must be between 0 and --layers \(layers)") }
    if initFrom != .random && copy > source.layers.count {
        throw TrainError.config("--copy \(copy): the source model has only \(source.layers.count) layers")
    }
    let model = TrainableBert(shape: BertShape(config: source.config, layers: layers, classifier: false))
    var rng = SplitMix64(seed: seed)
    model.initialize(rng: &rng)
    if initFrom != .random {
        try model.copy(from: source, embeddings: true, layers: 0..<copy, head: false)
    }
    return model
}
