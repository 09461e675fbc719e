import XCTest
import Eval

/// Built from a committed excerpt of real bookworm apt lists (20 packages), not the live index.
final class DebianDatasetTests: XCTestCase {
    func build() throws -> DebianDataset {
        let (packages, translations) = try DebianDataset.findLists(in: fixtureURL("debian-lists"))
        XCTAssertEqual(packages.count, 1); XCTAssertEqual(translations.count, 1)
        return DebianDataset(packagesTexts: try packages.map(DebianControl.readList),
                             translationTexts: try translations.map(DebianControl.readList))
    }

    func testCountsDedupeAndAmbiguity() throws {
        let ds = try build()
        let c = ds.counts
        XCTAssertEqual(c.translationStanzas, 20)
        XCTAssertEqual(c.packagesStanzas, 20)
        XCTAssertEqual(c.duplicateDescriptions, 1, "ancient and libancient2 share a Description-md5")
        XCTAssertEqual(c.emptyLongDescriptions, 1, "freeglut3-dev has only a synopsis")
        XCTAssertEqual(c.documents, 18)
        XCTAssertEqual(c.ambiguousSynopsisDocuments, 2, "apcalc and libapache2-mod-md are both 'transitional package'")
        XCTAssertEqual(c.queries.values.reduce(0, +), 16)
        let names = ds.entries.map(\.package)
        XCTAssertTrue(names.contains("ancient")); XCTAssertFalse(names.contains("libancient2"))
        XCTAssertFalse(names.contains("freeglut3-dev"))
        XCTAssertNil(ds.entries.first { $0.package == "apcalc" }!.split)
    }

    func testSourcesAndSplitsFollowSourcePackage() throws {
        let ds = try build()
        let by = Dictionary(uniqueKeysWithValues: ds.entries.map { ($0.package, $0) })
        XCTAssertEqual(by["0ad-data-common"]!.source, "0ad-data")
        XCTAssertEqual(by["2048-qt"]!.source, "2048-qt", "the version in 'Source: 2048-qt (0.1.6-2)' is dropped")
        XCTAssertEqual(by["libzstd1"]!.source, "libzstd")
        XCTAssertEqual(by["zstd"]!.source, "libzstd")
        var splitOfSource: [String: String] = [:]
        for e in ds.entries {
            guard let sp = e.split else { continue }
            if let prev = splitOfSource[e.source] { XCTAssertEqual(prev, sp, "source \(e.source) in two splits") }
            splitOfSource[e.source] = sp
        }
        // The hash split is close to 80/10/10 over many names.
        var n: [String: Int] = [:]
        for i in 0..<20000 { n[DebianDataset.split(forSource: "source-package-\(i)"), default: 0] += 1 }
        XCTAssertEqual(Double(n["train"]!) / 20000, 0.8, accuracy: 0.015)
        XCTAssertEqual(Double(n["dev"]!) / 20000, 0.1, accuracy: 0.015)
        XCTAssertEqual(Double(n["test"]!) / 20000, 0.1, accuracy: 0.015)
    }

    func testDescriptionFormatting() throws {
        let ds = try build()
        let e = ds.entries.first { $0.package == "0ad-data" }!
        XCTAssertEqual(e.synopsis, "Real-time strategy game of ancient warfare (data files)")
        XCTAssertTrue(e.long.hasPrefix("0 A.D. (pronounced \"zero ey-dee\") is a free, open-source, cross-platform real-time strategy (RTS) game"))
        XCTAssertTrue(e.long.hasSuffix("game engine.\nThis package contains the main data files required by 0 A.D."), e.long)
        let (syn, long) = DebianControl.splitDescription("short\n first line\n second\n .\n  verbatim a\n  verbatim b\n after")
        XCTAssertEqual(syn, "short")
        XCTAssertEqual(long, "first line second\nverbatim a\nverbatim b\nafter")
    }

    func testWrittenDatasetLoadsAsBEIRAndIsDeterministic() throws {
        let dir = try temporaryDirectory(), dir2 = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: dir2) }
        try build().write(to: dir)
        try build().write(to: dir2)
        var total = 0
        for sp in DebianDataset.splits {
            let ds = try BEIRDataset.load(directory: dir, split: sp)
            XCTAssertEqual(ds.corpus.count, 18)
            XCTAssertTrue(ds.report.warnings.isEmpty, "\(ds.report.warnings)")
            total += ds.queries.count
            let pairs = try String(contentsOf: dir.appendingPathComponent("\(sp)-pairs.jsonl"), encoding: .utf8)
            XCTAssertEqual(pairs.split(separator: "\n").count, ds.queries.count)
            for f in ["corpus.jsonl", "queries.jsonl", "qrels/\(sp).tsv", "\(sp)-pairs.jsonl"] {
                XCTAssertEqual(try Data(contentsOf: dir.appendingPathComponent(f)), try Data(contentsOf: dir2.appendingPathComponent(f)), f)
            }
        }
        XCTAssertEqual(total, 16)
        let first = try XCTUnwrap(try String(contentsOf: dir.appendingPathComponent("train-pairs.jsonl"), encoding: .utf8)
            .split(separator: "\n").first, "train-pairs.jsonl is empty")
        let obj = try JSONSerialization.jsonObject(with: Data(first.utf8)) as! [String: String]
        XCTAssertEqual(Set(obj.keys), ["query", "positive"])
    }

    /// apt keeps its lists lz4-compressed; they are read through apt's own `apt-helper cat-file`.
    func testReadsLz4CompressedListsThroughAptHelper() throws {
        let lz4 = "/usr/bin/lz4", helper = "/usr/lib/apt/apt-helper"
        guard FileManager.default.isExecutableFile(atPath: lz4), FileManager.default.isExecutableFile(atPath: helper) else {
            throw XCTSkip("needs \(lz4) and \(helper) (Debian packages lz4 and apt)")
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = fixtureURL("debian-lists/excerpt_main_i18n_Translation-en")
        let packed = dir.appendingPathComponent("x_i18n_Translation-en.lz4")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: lz4)
        p.arguments = ["-q", "-z", plain.path, packed.path]
        try p.run(); p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        XCTAssertEqual(try DebianControl.readList(packed), try DebianControl.readList(plain))
        XCTAssertEqual(try DebianDataset.findLists(in: dir).translations.map(\.lastPathComponent), ["x_i18n_Translation-en.lz4"])
    }
}
