import Foundation
import Formats
import Model

/// Checksums that tie a shard store to what produced it, so a store is re-used only for the
/// same model and the same documents.
public enum StoreFingerprint {
    /// Files of a model directory that decide its output besides the weights: the architecture,
    /// the tokenizer and the sentence-transformers pooling/normalisation.
    static let modelFiles = ["config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                             "modules.json", "sentence_bert_config.json", "1_Pooling/config.json"]

    /// CRC-32 of the model a worker loads for `name` (a directory, a name in $STRATA_MODELS or a
    /// Hugging Face id, resolved as `TextEncoder.load` resolves it): the contents of `modelFiles`
    /// present there and, of `model.safetensors`, its size, its JSON header (tensor names, shapes,
    /// offsets) and 64 KiB of weights at 18 places (start, end and 16 evenly spaced), never the
    /// name or path (another model under the same name differs; the same files under another
    /// path are the same model). About 1.2 MiB read, not the whole file: two checkpoints of one
    /// shape collide only if equal in every sampled byte (fine-tuning changes nearly every
    /// weight). A name that resolves to no model (test engines use bare names) is hashed as such.
    public static func model(path name: String) -> UInt32 {
        guard let dir = try? ModelLocator.resolve(name) else { return CRC32.checksum(Array(("name:" + name + "\u{0}").utf8)) }
        var crc: UInt32 = 0
        for f in modelFiles {
            guard let d = FileManager.default.contents(atPath: dir.appendingPathComponent(f).path) else { continue }
            crc = Array((f + "\u{0}").utf8).withUnsafeBytes { CRC32.checksum($0, crc: crc) }
            crc = withUnsafeBytes(of: UInt64(d.count).littleEndian) { CRC32.checksum($0, crc: crc) }
            crc = d.withUnsafeBytes { CRC32.checksum($0, crc: crc) }
        }
        let st = dir.appendingPathComponent("model.safetensors").path
        if let h = FileHandle(forReadingAtPath: st) {
            defer { try? h.close() }
            let size = (try? h.seekToEnd()) ?? 0
            crc = withUnsafeBytes(of: size.littleEndian) { CRC32.checksum($0, crc: crc) }
            var headerEnd: UInt64 = 0
            try? h.seek(toOffset: 0)
            if let lenBytes = try? h.read(upToCount: 8), lenBytes.count == 8 {
                let n = lenBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                if n <= ProtocolConstants.fingerprintMaxHeaderBytes, let header = try? h.read(upToCount: Int(n)) {
                    crc = header.withUnsafeBytes { CRC32.checksum($0, crc: crc) }
                    headerEnd = 8 + UInt64(header.count)
                }
            }
            let piece = ProtocolConstants.fingerprintPieceBytes
            if size > headerEnd {
                let span = size - headerEnd
                var offsets = [headerEnd, size > piece ? max(headerEnd, size - piece) : headerEnd]
                offsets += (1...16).map { headerEnd + span * UInt64($0) / 17 }
                for o in offsets {
                    try? h.seek(toOffset: o)
                    if let d = try? h.read(upToCount: Int(min(piece, size - o))) { crc = d.withUnsafeBytes { CRC32.checksum($0, crc: crc) } }
                }
            }
        }
        return crc
    }

    /// CRC-32 of a shard's texts (each as its UTF-8 length, u64 little-endian, then its bytes).
    public static func texts(_ texts: [String]) -> UInt32 {
        var crc: UInt32 = 0
        for t in texts {
            let b = Array(t.utf8)
            crc = withUnsafeBytes(of: UInt64(b.count).littleEndian) { CRC32.checksum($0, crc: crc) }
            crc = b.withUnsafeBytes { CRC32.checksum($0, crc: crc) }
        }
        return crc
    }
}
