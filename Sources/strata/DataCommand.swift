import Foundation
import Eval

/// `strata data debian-packages`: a BEIR-format dataset from the machine's apt package index.
enum DataCommand: Subcommand {
    static let name = "data"
    static let summary = "build datasets (debian-packages: BEIR format from the apt index)"
    static let usage = """
    usage: strata data debian-packages --out DIR [--lists DIR]

    Builds a BEIR-format retrieval dataset from the apt package index: query = a package's one-line
    synopsis, document = its long description (from the Translation-en lists; fetch them with
    `apt-get update -o Acquire::Languages=en`). De-duplicated by Description-md5; split train/dev/test
    80/10/10 by a hash of the source package (no source package in two splits).

      --out DIR     output folder: corpus.jsonl, queries.jsonl, qrels/{train,dev,test}.tsv,
                    {train,dev,test}-pairs.jsonl ({"query","positive"} for the trainer), counts.json
      --lists DIR   where the apt lists are (default /var/lib/apt/lists); *_Packages and
                    *_Translation-en files, plain or compressed (.lz4/.gz/.xz: read with apt-helper)
    """

    static func run(_ args: [String]) throws {
        guard let sub = args.first, !sub.hasPrefix("-") else {
            throw CLIError("data: name a dataset: debian-packages", usage: true)
        }
        guard sub == "debian-packages" else {
            throw CLIError("data: unknown dataset '\(sub)' (known: debian-packages)", usage: true)
        }
        let a = try Arguments(Array(args.dropFirst()), command: "data", options: ["out", "lists"])
        if !a.positionals.isEmpty { throw CLIError("data: unexpected argument '\(a.positionals[0])'", usage: true) }
        let out = URL(fileURLWithPath: try a.required("out"))
        let lists = URL(fileURLWithPath: a.string("lists") ?? "/var/lib/apt/lists")
        let (packages, translations) = try DebianDataset.findLists(in: lists)
        guard !translations.isEmpty else {
            throw CLIError("data: no *_Translation-en list in \(lists.path); run `apt-get update -o Acquire::Languages=en` first")
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
