// Activations one encoder layer keeps from forward for backward (packed batch, N tokens).

/// Cached activations of one BERT layer. Shapes with N tokens, hidden H, intermediate I:
/// input [N, H] (owned by the previous stage), qkv [N, 3H], probs/dropped/attnMask [sum NH len^2],
/// ctx [N, H], mask1 [N, H], r1 [N, H] (LN1 input), mean1/rstd1 [N], x1 [N, H],
/// pre [N, I] (GELU input), act [N, I], mask2 [N, H], r2 [N, H] (LN2 input), mean2/rstd2 [N], out [N, H].
final class LayerCache {
    let qkv = FloatBuffer(), probs = FloatBuffer(), dropped = FloatBuffer(), attnMask = FloatBuffer()
    let ctx = FloatBuffer(), mask1 = FloatBuffer(), r1 = FloatBuffer(), mean1 = FloatBuffer(), rstd1 = FloatBuffer()
    let x1 = FloatBuffer(), pre = FloatBuffer(), act = FloatBuffer(), mask2 = FloatBuffer()
    let r2 = FloatBuffer(), mean2 = FloatBuffer(), rstd2 = FloatBuffer(), out = FloatBuffer()
}

/// Cached activations of the embedding stage: sum [N, H] (LN input), mean/rstd [N], out [N, H], mask [N, H].
final class EmbeddingCache {
    let sum = FloatBuffer(), mean = FloatBuffer(), rstd = FloatBuffer(), out = FloatBuffer(), mask = FloatBuffer()
}

/// Cached activations of the CE head: cls [B, H], pre (pooler dense output) [B, H], pooled (tanh) [B, H],
/// mask [B, H], dropped [B, H], logits [B, L].
final class HeadCache {
    let cls = FloatBuffer(), pre = FloatBuffer(), pooled = FloatBuffer(), mask = FloatBuffer()
    let dropped = FloatBuffer(), logits = FloatBuffer()
}
