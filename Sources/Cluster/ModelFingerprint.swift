import Foundation

/// Checksums that tie a shard store to what produced it, so a store is re-used only for the
/// same model and the same documents.
public enum StoreFingerprint {
    /// CRC-32 of a model directory as a worker loaded it: its path, `config.json`, and of
    /// `model.safetensors` the size, the JSON header (tensor names, shapes, offsets) and the last
    /// 64 KiB of weights. Files that are absent contribute nothing (test engines use bare names).
    /// Cheap (no full read of the weights) yet different for another checkpoint of the same shape
    /// unless its final 64 KiB of weights are equal.
    public static func model(path: String) -> UInt32 {
        var crc = CRC32.checksum(Array(("path:" + path + "\u{0}").utf8))
        let dir = URL(fileURLWithPath: path)
        if let config = FileManager.default.contents(atPath: dir.appendingPathComponent("config.json").path) {
            crc = config.withUnsafeBytes { CRC32.checksum($0, crc: crc) }
        }
        let st = dir.appendingPathComponent("model.safetensors").path
        if let h = FileHandle(forReadingAtPath: st) {
            defer { try? h.close() }
            let size = (try? h.seekToEnd()) ?? 0
            crc = withUnsafeBytes(of: size.littleEndian) { CRC32.checksum($0, crc: crc) }
            try? h.seek(toOffset: 0)
            if let lenBytes = try? h.read(upToCount: 8), lenBytes.count == 8 {
                let n = lenBytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                if n <= 100 << 20, let header = try? h.read(upToCount: Int(n)) {
                    crc = header.withUnsafeBytes { CRC32.checksum($0, crc: crc) }
                }
            }
            try? h.seek(toOffset: size > 65536 ? size - 65536 : 0)
            if let tail = try? h.readToEnd() { crc = tail.withUnsafeBytes { CRC32.checksum($0, crc: crc) } }
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
