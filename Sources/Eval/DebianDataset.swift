import Foundation
import Formats

/// Builds a BEIR-format retrieval dataset from the apt package index: the query is a package's
/// one-line synopsis, the document its long description (Translation-en).
///
/// Rules (all deterministic):
/// - one document per Description-md5 and per package name (files read in name order, first wins);
///   the document id is the package's name; a description with no long part is left out;
/// - a synopsis shared (case-insensitively) by several documents is ambiguous: those documents stay
///   in the corpus but get no query;
/// - the split follows the source package (Packages' `Source:` without its version, else the
///   package name): FNV-1a 64 of the source name mod 100, < 80 train, < 90 dev, else test; so no
///   source package is in two splits.
public struct DebianDataset {
    public struct Entry: Equatable {
        public var package: String
        public var source: String
        public var md5: String
        public var synopsis: String
        public var long: String
        public var split: String?   // nil: no query (ambiguous synopsis)
    }

    /// Counts printed by `strata data debian-packages` and documented in docs/evaluation.md.
    public struct Counts: Equatable, CustomStringConvertible {
        public var translationStanzas = 0
        public var packagesStanzas = 0
        public var duplicateDescriptions = 0
        public var emptyLongDescriptions = 0
        public var documents = 0
        public var ambiguousSynopsisDocuments = 0
        public var queries: [String: Int] = [:]
        public var sources: [String: Int] = [:]

        public var description: String {
            var s = "Translation-en stanzas \(translationStanzas), Packages stanzas \(packagesStanzas)\n"
            s += "duplicates left out (same Description-md5 or package) \(duplicateDescriptions), no long description \(emptyLongDescriptions)\n"
            s += "corpus documents \(documents), of which without a query (ambiguous synopsis) \(ambiguousSynopsisDocuments)\n"
            for sp in DebianDataset.splits {
                s += "\(sp): \(queries[sp] ?? 0) queries from \(sources[sp] ?? 0) source packages\n"
            }
            return s
        }
    }

    public static let splits = ["train", "dev", "test"]
    public var entries: [Entry]
    public var counts: Counts

    /// The split of a source package: FNV-1a 64 of its UTF-8 name, mod 100: < 80 train, < 90 dev, else test.
    public static func split(forSource source: String) -> String {
        var h: UInt64 = 0xcbf29ce484222325
        for b in source.utf8 { h ^= UInt64(b); h = h &* 0x100000001b3 }
        let bucket = h % 100
        return bucket < 80 ? "train" : bucket < 90 ? "dev" : "test"
    }

    /// Builds from the texts of Packages files and Translation-en files.
    public init(packagesTexts: [String], translationTexts: [String]) {
        var counts = Counts()
        var sourceOf: [String: String] = [:]
        for text in packagesTexts {
            for st in DebianControl.stanzas(text, fields: ["Package", "Source"]) {
                guard let pkg = st["Package"] else { continue }
                counts.packagesStanzas += 1
                let src = st["Source"].map { String($0.split(separator: " ").first ?? Substring(pkg)) } ?? pkg
                if sourceOf[pkg] == nil { sourceOf[pkg] = src }
            }
        }
        var seenMD5 = Set<String>(), seenPkg = Set<String>()
        var entries: [Entry] = []
        for text in translationTexts {
            for st in DebianControl.stanzas(text, fields: ["Package", "Description-md5", "Description-en"]) {
                guard let pkg = st["Package"], let desc = st["Description-en"] else { continue }
                counts.translationStanzas += 1
                let md5 = st["Description-md5"] ?? ""
                if seenPkg.contains(pkg) || (!md5.isEmpty && seenMD5.contains(md5)) { counts.duplicateDescriptions += 1; continue }
                seenPkg.insert(pkg); seenMD5.insert(md5)
                let (synopsis, long) = DebianControl.splitDescription(desc)
                if long.isEmpty || synopsis.isEmpty { counts.emptyLongDescriptions += 1; continue }
                let src = sourceOf[pkg] ?? pkg
                entries.append(Entry(package: pkg, source: src, md5: md5, synopsis: synopsis, long: long,
                                     split: Self.split(forSource: src)))
            }
        }
        var bySynopsis: [String: Int] = [:]
        for e in entries { bySynopsis[e.synopsis.lowercased(), default: 0] += 1 }
        var sourcesPerSplit: [String: Set<String>] = [:]
        for i in entries.indices {
            if bySynopsis[entries[i].synopsis.lowercased()]! > 1 {
                entries[i].split = nil
                counts.ambiguousSynopsisDocuments += 1
            } else if let sp = entries[i].split {
                counts.queries[sp, default: 0] += 1
                sourcesPerSplit[sp, default: []].insert(entries[i].source)
            }
        }
        for (sp, s) in sourcesPerSplit { counts.sources[sp] = s.count }
        counts.documents = entries.count
        self.entries = entries
        self.counts = counts
    }

    /// Finds the apt lists in `directory`: (Packages files, Translation-en files), sorted by name.
    public static func findLists(in directory: URL) throws -> (packages: [URL], translations: [URL]) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() } catch {
            throw DataError(file: directory.path, "cannot list: \(error.localizedDescription)")
        }
        func base(_ n: String) -> String {
            let exts = [".lz4", ".gz", ".xz", ".zst", ".bz2", ".lzma"]
            for e in exts where n.hasSuffix(e) { return String(n.dropLast(e.count)) }
            return n
        }
        let packages = names.filter { base($0).hasSuffix("_Packages") }.map { directory.appendingPathComponent($0) }
        let translations = names.filter { base($0).hasSuffix("_Translation-en") }.map { directory.appendingPathComponent($0) }
        return (packages, translations)
    }

    /// Writes corpus.jsonl, queries.jsonl, qrels/{train,dev,test}.tsv, {train,dev}-pairs.jsonl
    /// ({"query","positive"}, the trainer's format) and counts.json into `directory`. Each file is
    /// written durably and whole (`DurableFile`); a failure throws `DataError.unwritable` naming it.
    public func write(to directory: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: directory.appendingPathComponent("qrels"), withIntermediateDirectories: true)
        var corpus = "", queries = ""
        var qrels: [String: String] = [:], pairs: [String: String] = [:]
        for sp in Self.splits { qrels[sp] = "query-id\tcorpus-id\tscore\n"; pairs[sp] = "" }
        for e in entries {
            corpus += try jsonLine(["_id": e.package, "text": e.long]) + "\n"
            guard let sp = e.split else { continue }
            queries += try jsonLine(["_id": e.package, "text": e.synopsis]) + "\n"
            qrels[sp]! += "\(e.package)\t\(e.package)\t1\n"
            pairs[sp]! += try jsonLine(["query": e.synopsis, "positive": e.long]) + "\n"
        }
        try DurableFile.write(Data(corpus.utf8), to: directory.appendingPathComponent("corpus.jsonl").path)
        try DurableFile.write(Data(queries.utf8), to: directory.appendingPathComponent("queries.jsonl").path)
        for sp in Self.splits {
            try DurableFile.write(Data(qrels[sp]!.utf8), to: directory.appendingPathComponent("qrels/\(sp).tsv").path)
            try DurableFile.write(Data(pairs[sp]!.utf8), to: directory.appendingPathComponent("\(sp)-pairs.jsonl").path)
        }
        let c = counts
        let countsObj: [String: Any] = [
            "translation_stanzas": c.translationStanzas, "packages_stanzas": c.packagesStanzas,
            "duplicates_left_out": c.duplicateDescriptions, "no_long_description": c.emptyLongDescriptions,
            "documents": c.documents, "documents_without_query": c.ambiguousSynopsisDocuments,
            "queries": c.queries, "source_packages": c.sources,
        ]
        let data = try JSONSerialization.data(withJSONObject: countsObj, options: [.prettyPrinted, .sortedKeys])
        try DurableFile.write(data, to: directory.appendingPathComponent("counts.json").path)
    }
}
