/// What a parameter tensor is to BERT's initialisation and to weight decay (Hugging Face's rules):
/// weights (dense matrices and embedding tables) are drawn from N(0, std) and decay; biases start at 0,
/// LayerNorm gamma at 1 and beta at 0, and none of the three decays.
public enum TensorRole: Sendable, Equatable {
    case weight, bias, normGamma, normBeta

    /// HF's no-decay rule: only weights decay.
    public var decays: Bool { self == .weight }
    /// The suffix of the tensor's Hugging Face name (`.weight` for weights and LayerNorm gamma).
    public var nameSuffix: String { self == .weight || self == .normGamma ? ".weight" : ".bias" }
}
