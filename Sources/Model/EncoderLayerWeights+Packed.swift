import Kernels

extension EncoderLayerWeights {
    /// Inference's view of a checkpoint layer: each dense layer copied into a `PackedLinear` for
    /// `precision` (the query, key and value weights stacked into one [3H, H] copy; int8 quantizes
    /// each projection per output channel, so stacking keeps each one's own scales). LayerNorm stays fp32.
    public init(_ layer: BertLayer, precision: Precision) {
        let h = layer.query.inFeatures
        for part in [layer.query, layer.key, layer.value] {
            precondition(part.inFeatures == h && part.outFeatures == h, "query, key and value must all be [H, H]")
        }
        self.init(qkv: .packed(PackedLinear(weight: layer.query.weight + layer.key.weight + layer.value.weight,
                                            bias: layer.query.bias + layer.key.bias + layer.value.bias,
                                            outFeatures: 3 * h, inFeatures: h, precision: precision)),
                  attentionOutput: .packed(PackedLinear(layer.attentionOutput, precision: precision)),
                  attentionNorm: .owned(layer.attentionLayerNorm),
                  intermediate: .packed(PackedLinear(layer.intermediate, precision: precision)),
                  output: .packed(PackedLinear(layer.output, precision: precision)),
                  outputNorm: .owned(layer.outputLayerNorm))
    }

    /// Bytes held for this layer's dense weights (LayerNorm and biases excluded; borrowed weights count 0).
    public var weightBytes: Int {
        [qkv, attentionOutput, intermediate, output].reduce(0) { total, d in
            if case .packed(let l) = d { return total + l.weightBytes }
            return total
        }
    }
}

extension PackedLinear {
    /// Packs a checkpoint's dense layer for `precision`.
    public convenience init(_ l: Linear, precision: Precision) {
        self.init(weight: l.weight, bias: l.bias, outFeatures: l.outFeatures, inFeatures: l.inFeatures, precision: precision)
    }
}
