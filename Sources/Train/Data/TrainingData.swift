// Training file format (shared with the dataset builder): JSON Lines, one example per line:
//   {"query": "...", "positive": "..."}                       a pair
//   + "negative": "..." or "negatives": ["...", ...]         hard negatives (both may appear; "negative" first)
//   + "scores": [s_pos, s_neg1, ...]                          teacher scores aligned with [positive] + negatives
// Blank lines are skipped. Any other problem is an error naming the file and the 1-based line.

import Foundation

/// One training example: a query, its positive, optional hard negatives and optional teacher scores.
public struct TrainingExample: Sendable, Equatable {
    public var query: String
    public var positive: String
    public var negatives: [String]
    /// Teacher scores for [positive] + negatives (distillation), when the file has them.
    public var scores: [Float]?

    public init(query: String, positive: String, negatives: [String] = [], scores: [Float]? = nil) {
        self.query = query; self.positive = positive; self.negatives = negatives; self.scores = scores
    }
}

/// Reads a training file (format in this file's header). Throws `TrainError.data("FILE:LINE: problem")`.
public func loadTrainingExamples(_ url: URL) throws -> [TrainingExample] {
    let data: Data
    do { data = try Data(contentsOf: url) } catch {
        throw TrainError.data("\(url.path): cannot read training file (\(error.localizedDescription))")
    }
    var out: [TrainingExample] = []
    var lineNo = 0
    for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        lineNo += 1
        let bytes = raw.last == UInt8(ascii: "\r") ? raw.dropLast() : raw
        if bytes.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
        out.append(try parseTrainingLine(Data(bytes), where: "\(url.path):\(lineNo)"))
    }
    if out.isEmpty { throw TrainError.data("\(url.path): no training examples") }
    return out
}

/// Parses one JSON line; `place` ("file:line") prefixes every error.
public func parseTrainingLine(_ bytes: Data, where place: String) throws -> TrainingExample {
    guard String(data: bytes, encoding: .utf8) != nil else { throw TrainError.data("\(place): invalid UTF-8") }
    let obj: Any
    do { obj = try JSONSerialization.jsonObject(with: bytes) } catch {
        throw TrainError.data("\(place): not valid JSON")
    }
    guard let o = obj as? [String: Any] else { throw TrainError.data("\(place): expected a JSON object") }
    func text(_ key: String) throws -> String {
        guard let v = o[key] else { throw TrainError.data("\(place): missing \"\(key)\"") }
        guard let s = v as? String else { throw TrainError.data("\(place): \"\(key)\" must be a string") }
        guard !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw TrainError.data("\(place): \"\(key)\" is empty") }
        return s
    }
    var ex = TrainingExample(query: try text("query"), positive: try text("positive"))
    if o["negative"] != nil { ex.negatives.append(try text("negative")) }
    if let negs = o["negatives"] {
        guard let arr = negs as? [Any] else { throw TrainError.data("\(place): \"negatives\" must be an array of strings") }
        for (i, n) in arr.enumerated() {
            guard let s = n as? String, !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw TrainError.data("\(place): \"negatives\"[\(i)] must be a non-empty string")
            }
            ex.negatives.append(s)
        }
    }
    if let sc = o["scores"] {
        guard let arr = sc as? [Any], arr.allSatisfy({ $0 is NSNumber }) else {
            throw TrainError.data("\(place): \"scores\" must be an array of numbers")
        }
        let vals = arr.map { Float(($0 as! NSNumber).doubleValue) }
        guard vals.count == 1 + ex.negatives.count else {
            throw TrainError.data("\(place): \"scores\" has \(vals.count) values for 1 positive + \(ex.negatives.count) negatives")
        }
        guard vals.allSatisfy(\.isFinite) else { throw TrainError.data("\(place): \"scores\" must be finite") }
        ex.scores = vals
    }
    return ex
}
