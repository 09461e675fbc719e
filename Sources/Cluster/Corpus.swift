import Foundation
import Formats
import Wire

/// A cluster-side failure with a message naming the file or setting at fault.
public struct ClusterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Reads a corpus exactly as `strata embed` does (the Model module's `TextRecords`: BEIR
/// .jsonl with title and text joined, or one text a line with 1-based line numbers as ids), so
/// job output and ids match a single-process run.
public enum CorpusReader {
    public static func read(_ path: String) throws -> [Document] {
        try TextRecords.read(path).map { Document(id: $0.id, text: $0.text) }
    }
}
