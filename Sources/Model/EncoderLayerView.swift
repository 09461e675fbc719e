import Kernels

/// One encoder layer's parameters as the inference forward reads them, every dense layer packed for
/// the engine's precision (`PackedLinear`: fp32, bf16 or int8). LayerNorm parameters stay fp32.
public struct EncoderLayerView: Sendable {
    /// [3H, H]: the query, key and value projections' rows stacked in that order, so one GEMM gives
    /// Q | K | V side by side in each output row ([T, 3H]).
    public let qkv: PackedLinear
    /// [H, H] attention.output.dense
    public let attentionOutput: PackedLinear
    public let attentionLayerNorm: LayerNormWeights
    /// [I, H] intermediate.dense (GELU follows)
    public let intermediate: PackedLinear
    /// [H, I] output.dense
    public let output: PackedLinear
    public let outputLayerNorm: LayerNormWeights

    /// Packs a checkpoint layer for `precision` (int8: each projection quantized per output channel,
    /// so stacking Q, K and V keeps each one's own scales).
    public init(_ layer: BertLayer, precision: Precision) {
        let h = layer.query.inFeatures
        for part in [layer.query, layer.key, layer.value] {
            precondition(part.inFeatures == h && part.outFeatures == h, "query, key and value must all be [H, H]")
        }
        qkv = PackedLinear(weight: layer.query.weight + layer.key.weight + layer.value.weight,
                           bias: layer.query.bias + layer.key.bias + layer.value.bias,
                           outFeatures: 3 * h, inFeatures: h, precision: precision)
        attentionOutput = PackedLinear(layer.attentionOutput, precision: precision)
        attentionLayerNorm = layer.attentionLayerNorm
        intermediate = PackedLinear(layer.intermediate, precision: precision)
        output = PackedLinear(layer.output, precision: precision)
        outputLayerNorm = layer.outputLayerNorm
    }

    /// Bytes held for the dense weights of this layer (LayerNorm and biases excluded).
    public var weightBytes: Int {
        qkv.weightBytes + attentionOutput.weightBytes + intermediate.weightBytes + output.weightBytes
    }
}

extension PackedLinear {
    /// Packs a checkpoint `Linear` for `precision`.
    public convenience init(_ l: Linear, precision: Precision) {
        self.init(weight: l.weight, bias: l.bias, outFeatures: l.outFeatures, inFeatures: l.inFeatures, precision: precision)
    }
}
