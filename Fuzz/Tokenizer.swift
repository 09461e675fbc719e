// libFuzzer harness: the BERT tokenizer (basic tokenizer + WordPiece, single texts and pairs) with
// the tiny test checkpoint's vocabulary. Any bytes (as UTF-8, repaired) tokenize without crashing;
// encodings respect the maximum length and hold only ids of the vocabulary.
import Foundation
import Tokenizer

private let tokenizer: BertTokenizer = {
    let dir = ProcessInfo.processInfo.environment["STRATA_FUZZ_VOCAB_DIR"] ?? "Tests/ModelTests/Fixtures/tiny-ce"
    do { return try BertTokenizer(directory: URL(fileURLWithPath: dir)) } catch { fatalError("tokenizer from \(dir): \(error)") }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = tokenizer.tokenize(text)
    let one = tokenizer.encode(text, maxLength: 32)
    let half = text.index(text.startIndex, offsetBy: text.count / 2)
    let pair = tokenizer.encodePair(String(text[..<half]), String(text[half...]), maxLength: 32)
    for e in [one, pair] {
        if e.ids.count > 32 { fatalError("\(e.ids.count) ids past maxLength 32") }
        if let bad = e.ids.first(where: { $0 < 0 || Int($0) >= tokenizer.vocabularySize }) { fatalError("id \(bad) outside the vocabulary") }
    }
    return 0
}
