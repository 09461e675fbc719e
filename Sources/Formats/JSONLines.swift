import Foundation

/// Encodes a value (a JSON object or array) as one line of JSON with sorted keys and unescaped
/// slashes: the same value always gives the same bytes. No newline is appended.
public func jsonLine(_ value: Any) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
}
