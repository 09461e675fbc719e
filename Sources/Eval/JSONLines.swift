import Foundation

/// Encodes a value as one line of JSON with sorted keys (deterministic output).
func jsonLine(_ value: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}
