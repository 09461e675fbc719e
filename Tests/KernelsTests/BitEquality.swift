import XCTest

/// Fails, naming `what` and the first differing element, unless `a` and `b` hold the same floats bit
/// for bit (NaN payloads and signed zeros included). Two nils are equal; one nil is a failure.
func assertBitsEqual(_ a: [Float]?, _ b: [Float]?, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    guard let a, let b else { XCTAssertTrue(a == nil && b == nil, "\(what): one output missing", file: file, line: line); return }
    XCTAssertEqual(a.count, b.count, what, file: file, line: line)
    for i in 0..<min(a.count, b.count) where a[i].bitPattern != b[i].bitPattern {
        XCTFail("\(what): element \(i): \(a[i]) != \(b[i])", file: file, line: line); return
    }
}
