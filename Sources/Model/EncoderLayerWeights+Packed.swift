import Kernels

extension EncoderLayerWeights {
    /// Inference's view of a checkpoint layer: each dense layer copied into a `PackedLinear` for
    /// `precision` (the query, key and value weights stacked into one [3H, H] copy; int8 quantizes
    /// each projection per output channel, so stacking keeps each one's own scales). LayerNorm stays fp32.
    /// `fp32Gemm` chooses the fp32 kernel (default: the process's choice, `FP32Gemm.process`).
    public init(_ layer: BertLayer, precision: Precision, fp32Gemm: FP32Gemm = FP32Gemm.process) {
        let h = layer.query.inFeatures
        for part in [layer.query, layer.key, layer.value] {
            precondition(part.inFeatures == h && part.outFeatures == h, "query, key and value must all be [H, H]")
        }
        self.init(qkv: .packed(PackedLinear(weight: layer.query.weight + layer.key.weight + layer.value.weight,
                                            bias: layer.query.bias + layer.key.bias + layer.value.bias,
                                            outFeatures: 3 * h, inFeatures: h, precision: precision, fp32Gemm: fp32Gemm)),
                  attentionOutput: .packed(PackedLinear(layer.attentionOutput, precision: precision, fp32Gemm: fp32Gemm)),
                  attentionNorm: .owned(layer.attentionLayerNorm),
                  intermediate: .packed(PackedLinear(layer.intermediate, precision: precision, fp32Gemm: fp32Gemm)),
                  output: .packed(PackedLinear(layer.output, precision: precision, fp32Gemm: fp32Gemm)),
                  outputNorm: .owned(layer.outputLayerNorm))
    }

    /// Bytes of this layer's dense weights, held or borrowed (LayerNorm and biases excluded).
    public var weightBytes: Int {
        [qkv, attentionOutput, intermediate, output].reduce(0) { total, d in
            switch d {
            case .packed(let l): return total + l.weightBytes
            case .borrowed(_, _, let o, let i): return total + o * i * 4
            }
        }
    }
}

extension EncoderLayerLayout {
    /// Copies a checkpoint layer into its block at `block` (`count` floats), fp32, in this layout.
    public func write(_ layer: BertLayer, into block: UnsafeMutablePointer<Float>) {
        let h = hidden, i = intermediate
        func put(_ at: Int, _ v: [Float], _ n: Int, _ what: String) {
            precondition(v.count == n, "\(what): \(v.count) values, the layer layout expects \(n)")
            (block + at).update(from: v, count: n)
        }
        put(qkvWeight, layer.query.weight, h * h, "query.weight")
        put(qkvWeight + h * h, layer.key.weight, h * h, "key.weight")
        put(qkvWeight + 2 * h * h, layer.value.weight, h * h, "value.weight")
        put(qkvBias, layer.query.bias, h, "query.bias")
        put(qkvBias + h, layer.key.bias, h, "key.bias")
        put(qkvBias + 2 * h, layer.value.bias, h, "value.bias")
        put(attentionOutputWeight, layer.attentionOutput.weight, h * h, "attention.output.dense.weight")
        put(attentionOutputBias, layer.attentionOutput.bias, h, "attention.output.dense.bias")
        put(attentionNormGamma, layer.attentionLayerNorm.gamma, h, "attention.output.LayerNorm.weight")
        put(attentionNormBeta, layer.attentionLayerNorm.beta, h, "attention.output.LayerNorm.bias")
        put(intermediateWeight, layer.intermediate.weight, i * h, "intermediate.dense.weight")
        put(intermediateBias, layer.intermediate.bias, i, "intermediate.dense.bias")
        put(outputWeight, layer.output.weight, h * i, "output.dense.weight")
        put(outputBias, layer.output.bias, h, "output.dense.bias")
        put(outputNormGamma, layer.outputLayerNorm.gamma, h, "output.LayerNorm.weight")
        put(outputNormBeta, layer.outputLayerNorm.beta, h, "output.LayerNorm.bias")
    }
}

extension PackedLinear {
    /// Packs a checkpoint's dense layer for `precision` (`fp32Gemm`: the fp32 kernel).
    public convenience init(_ l: Linear, precision: Precision, fp32Gemm: FP32Gemm = FP32Gemm.process) {
        self.init(weight: l.weight, bias: l.bias, outFeatures: l.outFeatures, inFeatures: l.inFeatures, precision: precision,
                  fp32Gemm: fp32Gemm)
    }
}
