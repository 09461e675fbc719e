import Foundation
import XCTest
import Tokenizer

/// Paths and JSON of the committed fixtures (made by scripts/make-goldens) and of the optional
/// real model / shared data (env STRATA_MODELS, STRATA_SHARED).
enum Fixtures {
    static var directory: URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    }

    static func json(_ name: String) throws -> [String: Any] {
        let url = directory.appendingPathComponent(name)
        let data = try Data(contentsOf: url)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any], "\(name) is not a JSON object")
    }

    static var goldens: [String: Any] {
        get throws { try json("goldens.json") }
    }

    /// The real all-MiniLM-L6-v2 directory, or XCTSkip naming the path.
    static func minilmDirectory() throws -> URL {
        let root = ProcessInfo.processInfo.environment["STRATA_MODELS"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/strata/models").path
        let dir = URL(fileURLWithPath: root).appendingPathComponent("all-MiniLM-L6-v2")
        guard FileManager.default.fileExists(atPath: dir.appendingPathComponent("tokenizer.json").path)
            || FileManager.default.fileExists(atPath: dir.appendingPathComponent("vocab.txt").path) else {
            throw XCTSkip("all-MiniLM-L6-v2 not installed at \(dir.path) (run scripts/setup or set STRATA_MODELS)")
        }
        return dir
    }

    /// The shared folder (env STRATA_SHARED, default <repo>/../shared), or XCTSkip naming the path.
    static func sharedDirectory(file: String = #filePath) throws -> URL {
        let dir: URL
        if let env = ProcessInfo.processInfo.environment["STRATA_SHARED"] {
            dir = URL(fileURLWithPath: env)
        } else {
            // <repo>/Tests/TokenizerTests/Fixtures.swift -> <repo>/../shared
            dir = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
        }
        guard FileManager.default.fileExists(atPath: dir.path) else {
            throw XCTSkip("shared folder not found at \(dir.path) (set STRATA_SHARED)")
        }
        return dir
    }

    /// The small committed vocabulary, one token per line.
    static func smallVocabulary() throws -> [String] {
        let text = try String(contentsOf: directory.appendingPathComponent("small-vocab/vocab.txt"), encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}

/// JSON helpers: arrays of numbers as Int32 / UInt8.
func int32s(_ any: Any?) -> [Int32] {
    (any as? [Any] ?? []).map { Int32(truncating: $0 as! NSNumber) }
}

func int32Rows(_ any: Any?) -> [[Int32]] {
    (any as? [Any] ?? []).map { int32s($0) }
}

func uint8s(_ any: Any?) -> [UInt8] {
    (any as? [Any] ?? []).map { UInt8(truncating: $0 as! NSNumber) }
}

func optionalBool(_ any: Any?) -> Bool? {
    any is NSNull ? nil : any as? Bool
}
