import Foundation
import Eval
import CommandLineFlags

/// `strata data <dataset>`: datasets built from what the machine has.
enum DataCommand {
    static let group = CommandGroup("data", summary: "build datasets (debian-packages: BEIR format from the apt index)")

    /// `strata data debian-packages`: a BEIR-format dataset from the machine's apt package index.
    enum DebianPackages: Subcommand {
        static let spec = CommandSpec("data debian-packages", summary: "a BEIR-format retrieval dataset from the apt package index", flags: [
            .path("out", "DIR", required: true, help: "output folder: corpus.jsonl, queries.jsonl, qrels/{train,dev,test}.tsv, {train,dev,test}-pairs.jsonl ({\"query\",\"positive\"} for the trainer), counts.json"),
            .path("lists", "DIR", default: "/var/lib/apt/lists", help: "where the apt lists are: *_Packages and *_Translation-en files, plain or compressed (.lz4/.gz/.xz: read with apt-helper)"),
        ], details: """
        Query = a package's one-line synopsis, document = its long description (from the Translation-en
        lists; fetch them with `apt-get update -o Acquire::Languages=en`). De-duplicated by Description-md5;
        split train/dev/test 80/10/10 by a hash of the source package (no source package in two splits).
        """)

        static func run(_ a: Arguments) throws {
            let out = URL(fileURLWithPath: a.value("out"))
            let lists = URL(fileURLWithPath: a.value("lists"))
            let (packages, translations) = try DebianDataset.findLists(in: lists)
            guard !translations.isEmpty else {
                throw CLIError("no *_Translation-en list in \(lists.path); run `apt-get update -o Acquire::Languages=en` first")
            }
            if packages.isEmpty { note("data: warning: no *_Packages list in \(lists.path): source packages unknown, each package is its own source") }
            for f in packages + translations { note("reading \(f.lastPathComponent)") }
            let ds = DebianDataset(packagesTexts: try packages.map(DebianControl.readList),
                                   translationTexts: try translations.map(DebianControl.readList))
            try ds.write(to: out)
            print(ds.counts.description, terminator: "")
            print("wrote \(out.path)")
        }
    }
}
