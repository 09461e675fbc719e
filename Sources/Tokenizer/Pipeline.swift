import Foundation

/// BertNormalizer settings (Hugging Face `tokenizers` names).
struct NormalizerOptions: Sendable {
    var cleanText = true
    var handleChineseChars = true
    var stripAccents = true
    var lowercase = true
}

/// The text -> token ids pipeline: added-token split, BertNormalizer, BertPreTokenizer and WordPiece,
/// fused into one pass over the Unicode scalars of the text, with per-call scratch buffers only.
struct Pipeline: Sendable {
    let options: NormalizerOptions
    /// Every vocabulary entry (for the first piece of a word).
    let words: VocabTable
    /// Entries starting with the continuation prefix, prefix removed (for the following pieces).
    let continuations: VocabTable
    let unkId: Int32
    let maxInputCharsPerWord: Int
    /// Tokens matched literally in the raw text before normalization (special tokens such as "[SEP]"),
    /// longest first so that the leftmost-longest match wins.
    let addedTokens: [(bytes: [UInt8], id: Int32)]
    /// `firstByteIsAdded[b]` is true when an added token starts with byte b.
    let firstByteIsAdded: [Bool]

    init(vocabulary: [String], options: NormalizerOptions, unkId: Int32, continuationPrefix: String,
         maxInputCharsPerWord: Int, addedTokens: [(String, Int32)]) {
        self.options = options
        self.unkId = unkId
        self.maxInputCharsPerWord = maxInputCharsPerWord
        var all: [(key: String, id: Int32)] = []
        var cont: [(key: String, id: Int32)] = []
        all.reserveCapacity(vocabulary.count)
        // Byte-wise prefix test: Character-based String APIs would glue a combining mark to the "#"
        // ("##ि" is the Characters "#", "#ि") and compare canonically equivalent strings as equal.
        let prefix = Array(continuationPrefix.utf8)
        for (i, token) in vocabulary.enumerated() {
            all.append((token, Int32(i)))
            let bytes = Array(token.utf8)
            if !prefix.isEmpty, bytes.count >= prefix.count, bytes[..<prefix.count].elementsEqual(prefix) {
                cont.append((String(decoding: bytes[prefix.count...], as: UTF8.self), Int32(i)))
            }
        }
        words = VocabTable(all)
        continuations = VocabTable(cont)
        let added = addedTokens.filter { !$0.0.isEmpty }.map { (bytes: Array($0.0.utf8), id: $0.1) }
        self.addedTokens = added.sorted { $0.bytes.count > $1.bytes.count }
        var first = [Bool](repeating: false, count: 256)
        for t in added { first[Int(t.bytes[0])] = true }
        firstByteIsAdded = first
    }

    /// Appends the WordPiece ids of `text` (no [CLS]/[SEP]) to `out`.
    /// Stops after the word during which `out.count` reaches `limit` (the caller truncates).
    func appendIds(_ text: String, to out: inout [Int32], limit: Int = Int.max) {
        var state = Scratch()
        run(text, &state, &out, limit)
    }

    /// The words of `text` after normalization and pre-tokenization (added tokens kept verbatim).
    func words(_ text: String) -> [String] {
        var state = Scratch()
        state.words = []
        var out: [Int32] = []
        run(text, &state, &out, Int.max)
        return state.words ?? []
    }

    private func run(_ text: String, _ state: inout Scratch, _ out: inout [Int32], _ limit: Int) {
        var text = text
        text.withUTF8 { utf8 in
            var segmentStart = 0
            var i = 0
            if !addedTokens.isEmpty {
                while i < utf8.count {
                    if firstByteIsAdded[Int(utf8[i])], let match = addedToken(at: i, in: utf8) {
                        process(utf8, segmentStart, i, &state, &out, limit)
                        if out.count >= limit { return }
                        if state.words != nil {
                            state.words!.append(String(decoding: UnsafeBufferPointer(rebasing: utf8[i..<(i + match.length)]),
                                                       as: UTF8.self))
                        } else {
                            out.append(match.id)
                        }
                        i += match.length
                        segmentStart = i
                    } else {
                        i += 1
                    }
                }
            }
            process(utf8, segmentStart, utf8.count, &state, &out, limit)
        }
    }

    private func addedToken(at i: Int, in utf8: UnsafeBufferPointer<UInt8>) -> (id: Int32, length: Int)? {
        for token in addedTokens where i + token.bytes.count <= utf8.count {
            var equal = true
            for (j, b) in token.bytes.enumerated() where utf8[i + j] != b {
                equal = false
                break
            }
            if equal { return (token.id, token.bytes.count) }
        }
        return nil
    }

    /// Reusable buffers for one call.
    private struct Scratch {
        var chunk: [UInt32] = []      // scalars of the current whitespace-delimited chunk
        var chunkNonASCII = false
        var bytes: [UInt8] = []       // UTF-8 of the current word
        var bounds: [Int] = []        // [chars + 1] byte offset of each scalar of the word
        var words: [String]? = nil    // when set, words are collected here instead of WordPiece ids
        init() {
            chunk.reserveCapacity(64)
            bytes.reserveCapacity(256)
            bounds.reserveCapacity(128)
        }
    }

    /// Normalizes and tokenizes utf8[start..<end] (a segment with no added token inside).
    private func process(_ utf8: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int,
                         _ s: inout Scratch, _ out: inout [Int32], _ limit: Int) {
        var i = start
        let opts = options
        while i < end {
            if out.count >= limit { return }
            // Decode one scalar (Swift strings hold valid UTF-8).
            let b0 = UInt32(utf8[i])
            var c: UInt32
            if b0 < 0x80 {
                c = b0
                i += 1
            } else if b0 < 0xE0 {
                c = (b0 & 0x1F) << 6 | UInt32(utf8[i + 1] & 0x3F)
                i += 2
            } else if b0 < 0xF0 {
                c = (b0 & 0x0F) << 12 | UInt32(utf8[i + 1] & 0x3F) << 6 | UInt32(utf8[i + 2] & 0x3F)
                i += 3
            } else {
                c = (b0 & 0x07) << 18 | UInt32(utf8[i + 1] & 0x3F) << 12
                    | UInt32(utf8[i + 2] & 0x3F) << 6 | UInt32(utf8[i + 3] & 0x3F)
                i += 4
            }
            if opts.cleanText && CharacterClasses.isRemovedByClean(c) { continue }
            if CharacterClasses.isWhitespace(c) {
                flushChunk(&s, &out)
                continue
            }
            if c < 0x80 {
                if opts.lowercase && c >= 0x41 && c <= 0x5A { c += 0x20 }
            } else {
                if opts.handleChineseChars && CharacterClasses.isChinese(c) {
                    flushChunk(&s, &out)
                    s.chunk.append(c)
                    flushChunk(&s, &out)
                    continue
                }
                s.chunkNonASCII = true
            }
            s.chunk.append(c)
        }
        flushChunk(&s, &out)
    }

    /// Finishes the chunk: accent stripping and lower-casing of non-ASCII text, punctuation split, WordPiece.
    private func flushChunk(_ s: inout Scratch, _ out: inout [Int32]) {
        if s.chunk.isEmpty { return }
        if s.chunkNonASCII && (options.stripAccents || options.lowercase) {
            s.chunk = normalizeNonASCII(s.chunk)
        }
        var wordStart = 0
        let n = s.chunk.count
        for j in 0..<n {
            let c = s.chunk[j]
            if CharacterClasses.isPunctuation(c) {
                wordPiece(wordStart, j, &s, &out)
                wordPiece(j, j + 1, &s, &out)
                wordStart = j + 1
            } else if c >= 0x80 && CharacterClasses.isWhitespace(c) {
                wordPiece(wordStart, j, &s, &out)
                wordStart = j + 1
            }
        }
        wordPiece(wordStart, n, &s, &out)
        s.chunk.removeAll(keepingCapacity: true)
        s.chunkNonASCII = false
    }

    /// strip_accents (NFD, then drop non-spacing marks) and lowercase (per scalar, full mapping).
    private func normalizeNonASCII(_ chunk: [UInt32]) -> [UInt32] {
        var scalars = chunk
        if options.stripAccents {
            var view = String.UnicodeScalarView()
            for c in chunk { view.append(Unicode.Scalar(c)!) }
            let nfd = String(view).decomposedStringWithCanonicalMapping
            scalars.removeAll(keepingCapacity: true)
            for u in nfd.unicodeScalars where !CharacterClasses.isNonspacingMark(u.value) {
                scalars.append(u.value)
            }
        }
        if options.lowercase {
            var lowered: [UInt32] = []
            lowered.reserveCapacity(scalars.count)
            for c in scalars {
                if c < 0x80 {
                    lowered.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c)
                } else if let u = Unicode.Scalar(c), u.properties.changesWhenLowercased {
                    for l in u.properties.lowercaseMapping.unicodeScalars { lowered.append(l.value) }
                } else {
                    lowered.append(c)
                }
            }
            scalars = lowered
        }
        return scalars
    }

    /// WordPiece, greedy longest-match-first, on the word s.chunk[from..<to].
    private func wordPiece(_ from: Int, _ to: Int, _ s: inout Scratch, _ out: inout [Int32]) {
        let n = to - from
        if n <= 0 { return }
        if s.words != nil {
            var view = String.UnicodeScalarView()
            for j in from..<to { view.append(Unicode.Scalar(s.chunk[j])!) }
            s.words!.append(String(view))
            return
        }
        if n > maxInputCharsPerWord {
            out.append(unkId)
            return
        }
        s.bytes.removeAll(keepingCapacity: true)
        s.bounds.removeAll(keepingCapacity: true)
        s.bounds.append(0)
        for j in from..<to {
            let c = s.chunk[j]
            if c < 0x80 {
                s.bytes.append(UInt8(c))
            } else if c < 0x800 {
                s.bytes.append(UInt8(0xC0 | (c >> 6)))
                s.bytes.append(UInt8(0x80 | (c & 0x3F)))
            } else if c < 0x10000 {
                s.bytes.append(UInt8(0xE0 | (c >> 12)))
                s.bytes.append(UInt8(0x80 | ((c >> 6) & 0x3F)))
                s.bytes.append(UInt8(0x80 | (c & 0x3F)))
            } else {
                s.bytes.append(UInt8(0xF0 | (c >> 18)))
                s.bytes.append(UInt8(0x80 | ((c >> 12) & 0x3F)))
                s.bytes.append(UInt8(0x80 | ((c >> 6) & 0x3F)))
                s.bytes.append(UInt8(0x80 | (c & 0x3F)))
            }
            s.bounds.append(s.bytes.count)
        }
        let mark = out.count
        let bounds = s.bounds
        let ok = s.bytes.withUnsafeBufferPointer { bytes -> Bool in
            var start = 0
            while start < n {
                let table = start == 0 ? words : continuations
                var end = min(n, start + table.maxScalars)
                var found: Int32? = nil
                while end > start {
                    if let id = table.lookup(bytes[bounds[start]..<bounds[end]]) {
                        found = id
                        break
                    }
                    end -= 1
                }
                guard let id = found else { return false }
                out.append(id)
                start = end
            }
            return true
        }
        if !ok {
            out.removeSubrange(mark...)
            out.append(unkId)
        }
    }
}
