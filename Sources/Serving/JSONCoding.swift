import Foundation

/// A small JSON writer for responses: exact float text (Swift's shortest round-trip form), no
/// Foundation boxing of every number. Non-finite numbers are written as null.
struct JSONOut {
    private(set) var text = ""

    init() { text.reserveCapacity(256) }

    mutating func raw(_ s: String) { text += s }

    mutating func string(_ s: String) {
        text += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where u.value < 0x20: text += String(format: "\\u%04x", u.value)
            default: text.unicodeScalars.append(u)
            }
        }
        text += "\""
    }

    mutating func number(_ x: Float) { text += x.isFinite ? x.description : "null" }
    mutating func number(_ x: Double) { text += x.isFinite ? x.description : "null" }
    mutating func number(_ x: Int) { text += String(x) }
    mutating func bool(_ b: Bool) { text += b ? "true" : "false" }

    /// `[x0,x1,...]`
    mutating func floats<C: Collection>(_ xs: C) where C.Element == Float {
        text += "["
        var first = true
        for x in xs {
            if !first { text += "," }
            first = false
            number(x)
        }
        text += "]"
    }

    /// `"key":` (with a leading comma unless `first`).
    mutating func key(_ k: String, first: Bool = false) {
        if !first { text += "," }
        string(k)
        text += ":"
    }

    var bytes: [UInt8] { Array(text.utf8) }
}

/// Reading a request's JSON body: typed field access with errors that name the field.
struct JSONIn {
    let object: [String: Any]

    /// Parses `body` as a JSON object.
    init(_ body: [UInt8]) throws {
        guard !body.isEmpty else { throw RequestError.badRequest("the request body is empty: expected a JSON object") }
        let any: Any
        do { any = try JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) } catch {
            throw RequestError.badRequest("the body is not valid JSON")
        }
        guard let o = any as? [String: Any] else { throw RequestError.badRequest("the body must be a JSON object") }
        object = o
    }

    func has(_ k: String) -> Bool { object[k] != nil && !(object[k] is NSNull) }

    /// Refuses a field not in `known` (400 naming it), so a client's option this server does not
    /// implement is not ignored silently.
    func onlyFields(_ known: [String], route: String) throws {
        if let k = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw RequestError.badRequest("unknown field '\(k)' for \(route) (known: \(known.joined(separator: ", ")))")
        }
    }

    func string(_ k: String) throws -> String? {
        guard has(k) else { return nil }
        guard let s = object[k] as? String else { throw RequestError.badRequest("'\(k)' must be a string") }
        return s
    }

    func bool(_ k: String) throws -> Bool? {
        guard has(k) else { return nil }
        guard let n = object[k] as? NSNumber, Self.isBool(n) else { throw RequestError.badRequest("'\(k)' must be true or false") }
        return n.boolValue
    }

    func int(_ k: String) throws -> Int? {
        guard has(k) else { return nil }
        guard let n = object[k] as? NSNumber, !Self.isBool(n), let i = Int(exactly: n.doubleValue) else {
            throw RequestError.badRequest("'\(k)' must be an integer")
        }
        return i
    }

    /// A string or an array of strings, as a list.
    func texts(_ k: String) throws -> [String]? {
        guard has(k) else { return nil }
        if let s = object[k] as? String { return [s] }
        guard let a = object[k] as? [Any] else { throw RequestError.badRequest("'\(k)' must be a string or an array of strings") }
        return try a.enumerated().map { i, v in
            guard let s = v as? String else {
                throw RequestError.badRequest("'\(k)'[\(i)] is not a string (token-id inputs are not supported)")
            }
            return s
        }
    }

    /// JSON true/false (Foundation boxes them with objCType "c"; numbers are "i", "q", "d").
    static func isBool(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }
}
