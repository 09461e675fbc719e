import Foundation
import Kernels
import Model
import Wire

/// The product's `InferenceEngine`: the Model module's encoders (real HF checkpoints).
/// `embed` is `TextEncoder.embed(texts)` (the model's own final embedding; the self-pair convention on
/// a CE), the same call `strata embed` makes, so chunks embed exactly as a single-process run does.
public final class ModelEngine: InferenceEngine {
    var encoders: [String: TextEncoder] = [:]
    /// Names whose `embed` is a layer's embedding (one CE for both stages; ModelEngine+Serving.swift).
    var embedLayers: [String: Int] = [:]
    /// Precision every model is loaded in (weights converted when loaded).
    public let precision: Precision
    /// Threads of each loaded encoder's forward pass (`BertEngine.parallelism`); nil: the process
    /// setting (`Parallelism.process`, strata's `--threads`). Applies to models loaded after it is set.
    public var parallelism: Parallelism?
    public init(precision: Precision = .fp32) { self.precision = precision }
    public var precisionName: String { precision.rawValue }

    /// The model's own embedding under `name` (`loadModel(name:path:embedLayer:)` without a layer).
    public func loadModel(name: String, path: String) throws -> (dimension: Int, crossEncoder: Bool) {
        try loadModel(name: name, path: path, embedLayer: nil)
    }

    func encoder(_ name: String) throws -> TextEncoder {
        guard let e = encoders[name] else { throw EngineError(.failedPrecondition, "model '\(name)' is not loaded") }
        return e
    }

    public func embed(model: String, texts: [String]) throws -> Vectors {
        let k = embedLayers[model]
        let m = try encoder(model).embed(texts, layer: k, normalize: k == nil ? nil : true)
        return Vectors(rows: m.rows, dimension: m.cols, data: m.data)
    }

    public func score(model: String, query: String, passages: [String]) throws -> [Float] {
        try encoder(model).score(passages.map { (query, $0) })
    }
}
