import Foundation
import XCTest
import Tokenizer

/// Every Unicode scalar through the basic tokenizer, against the `tokenizers` package:
/// the words of "a" + c + "b" under the uncased BERT normalizer (scalar_classes.json).
/// Catches any difference in control/whitespace/punctuation/mark tables, NFD and lower-casing.
final class ScalarClassTests: XCTestCase {
    func testEveryScalarMatchesTheReference() throws {
        let golden = try Fixtures.json("scalar_classes.json")
        let tokenizer = BertTokenizer(vocabulary: ["[PAD]", "[UNK]", "[CLS]", "[SEP]"],
                                      lowercase: try XCTUnwrap(golden["lowercase"] as? Bool),
                                      stripAccents: try XCTUnwrap(golden["strip_accents"] as? Bool),
                                      tokenizeChineseChars: true, maxLength: 512)
        let ranges = try XCTUnwrap(golden["ranges"] as? [String: [[Int]]])
        var expected = [UInt8](repeating: 255, count: 0x110000)  // class per scalar
        let classNames = ["plain", "split", "space", "removed"]
        for (k, name) in classNames.enumerated() {
            for r in try XCTUnwrap(ranges[name]) { for c in r[0]...r[1] { expected[c] = UInt8(k) } }
        }
        let mapped = try XCTUnwrap(golden["mapped"] as? [String: String])
        let mappedSplit = try XCTUnwrap(golden["mapped_split"] as? [String: String])
        let explicit = try XCTUnwrap(golden["explicit"] as? [String: [String]])
        var checked = 0
        var failures = 0
        for c in 0..<0x110000 {
            guard let scalar = Unicode.Scalar(UInt32(c)) else { continue }
            let s = String(scalar)
            let want: [String]
            switch expected[c] {
            case 0: want = ["a" + s + "b"]
            case 1: want = ["a", s, "b"]
            case 2: want = ["a", "b"]
            case 3: want = ["ab"]
            default:
                if let m = mapped[String(c)] {
                    want = ["a" + m + "b"]
                } else if let m = mappedSplit[String(c)] {
                    want = ["a", m, "b"]
                } else {
                    want = try XCTUnwrap(explicit[String(c)], "no golden for U+\(String(c, radix: 16))")
                }
            }
            let got = tokenizer.basicTokenize("a" + s + "b")
            if got != want {
                failures += 1
                if failures <= 20 {
                    XCTFail("U+\(String(c, radix: 16, uppercase: true)): \(got.map(\.unicodeScalars.debugDescription)) != \(want.map(\.unicodeScalars.debugDescription))")
                }
            }
            checked += 1
        }
        XCTAssertEqual(checked, 0x110000 - 0x800)
        XCTAssertEqual(failures, 0, "\(failures) scalars differ from the tokenizers package")
    }
}
