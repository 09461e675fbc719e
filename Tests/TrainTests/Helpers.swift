import Kernels
import Foundation
import XCTest
import Train

/// Loads a JSON fixture from Tests/TrainTests/Fixtures.
func loadFixture(_ name: String, file: String = #filePath) throws -> [String: Any] {
    let url = URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
    let data = try Data(contentsOf: url)
    guard let obj = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
        throw NSError(domain: "fixture", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(url.path) is not a JSON object"])
    }
    return obj
}

/// A JSON number array as [Float].
func floats(_ any: Any?) -> [Float] { ((any as? [Any]) ?? []).map { Float(($0 as? NSNumber)?.doubleValue ?? .nan) } }

/// Deterministic pseudo-random values in [-scale, scale).
func randomFloats(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = SplitMix64(seed: seed)
    return (0..<n).map { _ in (rng.uniform() * 2 - 1) * scale }
}

/// Central-difference check of an analytic gradient.
/// `f` maps the inputs to a scalar (computed in Double); `analytic` is d f / d x at `x`.
/// Passes when |analytic - numeric| <= atol + rtol * |numeric| for every checked coordinate.
func checkGradient(_ label: String, x: [Float], analytic: [Float], h: Float = 1e-2, atol: Double = 1e-3,
                   rtol: Double = 1e-2, maxChecks: Int = 400, file: StaticString = #filePath, line: UInt = #line,
                   _ f: ([Float]) -> Double) {
    XCTAssertEqual(x.count, analytic.count, "\(label): gradient size", file: file, line: line)
    let step = max(1, x.count / maxChecks)
    var worst = 0.0
    for i in stride(from: 0, to: x.count, by: step) {
        var xp = x, xm = x
        xp[i] += h; xm[i] -= h
        let numeric = (f(xp) - f(xm)) / Double(xp[i] - xm[i])
        let err = abs(Double(analytic[i]) - numeric)
        worst = max(worst, err / (atol + rtol * abs(numeric)))
        if err > atol + rtol * abs(numeric) {
            XCTFail("\(label)[\(i)]: analytic \(analytic[i]) vs numeric \(numeric)", file: file, line: line)
            return
        }
    }
}

/// Sum of out[i] * w[i] in Double: a scalar probe of a vector-valued function.
func probe(_ out: [Float], _ w: [Float]) -> Double {
    var s = 0.0
    for i in 0..<out.count { s += Double(out[i]) * Double(w[i]) }
    return s
}

/// Asserts max |a - b| <= atol + rtol * max |b| (tensor-wise tolerance).
func assertClose(_ a: [Float], _ b: [Float], atol: Float, rtol: Float, _ label: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "\(label): sizes", file: file, line: line)
    guard a.count == b.count else { return }
    let scale = b.map { abs($0) }.max() ?? 0
    var worst: Float = 0, at = 0
    for i in 0..<a.count where abs(a[i] - b[i]) > worst { worst = abs(a[i] - b[i]); at = i }
    XCTAssertLessThanOrEqual(worst, atol + rtol * scale,
                             "\(label): max error \(worst) at \(at) (\(a[at]) vs \(b[at])), scale \(scale)", file: file, line: line)
}
