/// Character classes of the BERT normalizer and pre-tokenizer, on Unicode scalar values,
/// matching the Hugging Face `tokenizers` package (see UnicodeTables.swift).
enum CharacterClasses {
    /// Binary search in a flat `[lo, hi, lo, hi, ...]` range table.
    @inline(__always)
    static func contains(_ table: [UInt32], _ c: UInt32) -> Bool {
        var lo = 0
        var hi = table.count / 2  // number of ranges
        while lo < hi {
            let mid = (lo + hi) >> 1
            if c > table[2 * mid + 1] {
                lo = mid + 1
            } else if c < table[2 * mid] {
                hi = mid
            } else {
                return true
            }
        }
        return false
    }

    /// Removed by clean_text (control/format/private-use characters, U+0000, U+FFFD); tab, LF, CR excluded.
    @inline(__always)
    static func isRemovedByClean(_ c: UInt32) -> Bool {
        if c < 0x80 { return (c < 0x20 && c != 0x09 && c != 0x0A && c != 0x0D) || c == 0x7F }
        return contains(UnicodeTables.other, c)
    }

    /// Whitespace (Rust `char::is_whitespace`).
    @inline(__always)
    static func isWhitespace(_ c: UInt32) -> Bool {
        if c < 0x80 { return c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        return contains(UnicodeTables.whitespace, c)
    }

    /// ASCII punctuation (33-47, 58-64, 91-96, 123-126) or a Unicode P* character.
    @inline(__always)
    static func isPunctuation(_ c: UInt32) -> Bool {
        if c < 0x80 {
            return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)
        }
        return contains(UnicodeTables.punctuation, c)
    }

    /// Non-spacing mark (Mn), dropped by accent stripping.
    @inline(__always)
    static func isNonspacingMark(_ c: UInt32) -> Bool {
        c >= 0x300 && contains(UnicodeTables.nonspacingMark, c)
    }

    /// CJK ideograph, padded with spaces by handle_chinese_chars (ranges of `tokenizers`' BertNormalizer).
    @inline(__always)
    static func isChinese(_ c: UInt32) -> Bool {
        if c < 0x3400 { return false }
        return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF)
            || (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F)
            || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF)
            || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F)
    }
}
