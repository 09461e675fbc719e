import Foundation
import Formats

/// Debian control-file stanzas (the apt lists' Packages and Translation-en files): "Field: value"
/// lines, continuation lines starting with a space, stanzas separated by blank lines.
public enum DebianControl {
    /// Parses `text` into stanzas; each field's value keeps its continuation lines (joined with
    /// "\n", each still starting with its space). Only `fields` are kept (all when nil).
    public static func stanzas(_ text: String, fields: Set<String>? = nil) -> [[String: String]] {
        var out: [[String: String]] = []
        var current: [String: String] = [:]
        var lastKey: String? = nil
        text.enumerateLines { line, _ in
            if line.allSatisfy({ $0 == " " || $0 == "\t" }) {   // blank line: end of stanza
                if !current.isEmpty { out.append(current) }
                current = [:]; lastKey = nil
                return
            }
            if line.first == " " || line.first == "\t" {
                if let k = lastKey { current[k]! += "\n" + line }
                return
            }
            guard let colon = line.firstIndex(of: ":") else { lastKey = nil; return }
            let key = String(line[..<colon])
            if let fields, !fields.contains(key) { lastKey = nil; return }
            current[key] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            lastKey = key
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    /// Splits a Description value into its synopsis (first line) and long description, formatted
    /// as Debian policy 5.6.13 says: each continuation line loses its leading space, a line " ."
    /// is a paragraph break; lines of a paragraph are joined with a space, paragraphs with "\n".
    /// Lines with more leading space (verbatim) are kept as their own lines, trimmed.
    public static func splitDescription(_ value: String) -> (synopsis: String, long: String) {
        var lines = value.components(separatedBy: "\n")
        let synopsis = lines.removeFirst().trimmingCharacters(in: .whitespaces)
        var paragraphs: [String] = []
        var current: [String] = []
        var verbatim = false
        func flush() { if !current.isEmpty { paragraphs.append(current.joined(separator: verbatim ? "\n" : " ")) }; current = [] }
        for raw in lines {
            let body = raw.hasPrefix(" ") ? String(raw.dropFirst()) : raw
            if body.trimmingCharacters(in: .whitespaces) == "." { flush(); verbatim = false; continue }
            let isVerbatim = body.hasPrefix(" ")
            if isVerbatim != verbatim { flush(); verbatim = isVerbatim }
            let t = body.trimmingCharacters(in: .whitespaces)
            if !t.isEmpty { current.append(t) }
        }
        flush()
        return (synopsis, paragraphs.joined(separator: "\n"))
    }

    /// Reads an apt list file; compressed ones (.lz4, .gz, .xz, .zst, .bz2, as apt stores them)
    /// are decompressed by apt's own `apt-helper cat-file`.
    public static func readList(_ url: URL) throws -> String {
        let compressed = ["lz4", "gz", "xz", "zst", "bz2", "lzma"].contains(url.pathExtension)
        let data: Data
        if compressed {
            let helper = "/usr/lib/apt/apt-helper"
            guard FileManager.default.isExecutableFile(atPath: helper) else {
                throw DataError(file: url.path, "compressed list needs \(helper) (apt) to decompress")
            }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: helper)
            p.arguments = ["cat-file", url.path]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            guard p.terminationStatus == 0 else {
                throw DataError(file: url.path, "apt-helper cat-file failed with status \(p.terminationStatus)")
            }
        } else {
            do { data = try Data(contentsOf: url) } catch {
                throw DataError(file: url.path, "cannot read: \(error.localizedDescription)")
            }
        }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError(file: url.path, "invalid UTF-8") }
        return text
    }
}
