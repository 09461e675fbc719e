import Foundation

extension CLI {
    /// Writes a tiny BEIR folder `dir/beir`: six documents (`d0`...`d5`, empty titles), queries
    /// `q1` "packages" and `q2` "number", judged in `qrels/<split>.tsv` as q1 -> d1, q2 -> d2.
    static func tinyBEIR(in dir: URL, split: String) throws -> URL {
        let d = dir.appendingPathComponent("beir")
        try FileManager.default.createDirectory(at: d.appendingPathComponent("qrels"), withIntermediateDirectories: true)
        try Data((0..<6).map { #"{"_id": "d\#($0)", "title": "", "text": "document number \#($0) about packages"}"# + "\n" }.joined().utf8)
            .write(to: d.appendingPathComponent("corpus.jsonl"))
        try Data((#"{"_id": "q1", "text": "packages"}"# + "\n" + #"{"_id": "q2", "text": "number"}"# + "\n").utf8)
            .write(to: d.appendingPathComponent("queries.jsonl"))
        try Data("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n".utf8).write(to: d.appendingPathComponent("qrels/\(split).tsv"))
        return d
    }
}
