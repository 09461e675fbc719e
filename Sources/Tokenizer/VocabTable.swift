/// An allocation-free lookup table from UTF-8 byte strings to token ids (open addressing, FNV-1a).
///
/// WordPiece tries many substrings of every word; looking them up as byte slices avoids building a
/// `String` per candidate.
struct VocabTable: Sendable {
    private var arena: [UInt8] = []      // all keys, back to back
    private var keyStart: [Int32] = []   // [n] offset of key i in arena
    private var keyLength: [Int32] = []  // [n]
    private var values: [Int32] = []     // [n]
    private var slots: [Int32] = []      // [capacity] index into keys, -1 = empty
    private var mask = 0
    /// Longest key, in Unicode scalars.
    private(set) var maxScalars = 0

    init(_ entries: [(key: String, id: Int32)]) {
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        slots = [Int32](repeating: -1, count: capacity)
        mask = capacity - 1
        for (key, id) in entries { insert(key, id) }
    }

    private mutating func insert(_ key: String, _ id: Int32) {
        let bytes = Array(key.utf8)
        var slot = bytes.withUnsafeBufferPointer { Int(truncatingIfNeeded: Self.hash($0[...])) } & mask
        while slots[slot] >= 0 {
            let k = Int(slots[slot])
            if keyLength[k] == bytes.count && arena[Int(keyStart[k])..<Int(keyStart[k]) + bytes.count].elementsEqual(bytes) {
                values[k] = id  // duplicate key: the last id wins, as in Hugging Face's vocab loading
                return
            }
            slot = (slot + 1) & mask
        }
        slots[slot] = Int32(keyStart.count)
        keyStart.append(Int32(arena.count))
        keyLength.append(Int32(bytes.count))
        values.append(id)
        arena.append(contentsOf: bytes)
        maxScalars = max(maxScalars, key.unicodeScalars.count)
    }

    @inline(__always)
    private static func hash(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        return h ^ (h >> 29)
    }

    /// The id of `bytes`, or nil.
    @inline(__always)
    func lookup(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Int32? {
        var slot = Int(truncatingIfNeeded: Self.hash(bytes)) & mask
        let n = bytes.count
        return arena.withUnsafeBufferPointer { arena -> Int32? in
            while true {
                let k = Int(slots[slot])
                if k < 0 { return nil }
                if Int(keyLength[k]) == n {
                    let start = Int(keyStart[k])
                    var equal = true
                    var j = start
                    for b in bytes {
                        if arena[j] != b { equal = false; break }
                        j += 1
                    }
                    if equal { return values[k] }
                }
                slot = (slot + 1) & mask
            }
        }
    }
}
