import XCTest
import CommandLineFlags

/// The flag-table parser and help renderer on their own, without spawning the binary.
final class CommandLineFlagsTests: XCTestCase {
    let spec = CommandSpec("demo", summary: "a demo command", flags: [
        .string("model", "DIR", required: true, help: "the model"),
        .int("batch", default: 32, min: 1, max: 4096, help: "sequences per batch"),
        .int("layer", "K", defaultNote: "the last", min: 0, help: "which layer"),
        .double("timeout", "S", default: 10, .above(0), help: "deadline"),
        .double("grace", "S", default: 0, .atLeast(0), help: "drain time"),
        .double("dropout", default: 0.1, .halfOpen(0, 1), help: "dropout"),
        .choice("pooling", ["mean", "cls", "max"], help: "pooling"),
        .bool("normalize", help: "unit vectors"),
        .intList("cutoffs", default: "1,3,10", help: "cutoffs"),
        .string("tag", repeatable: true, help: "a tag"),
    ], positionals: [Positional("QUERY", required: false, help: "a query")])

    private func parse(_ args: [String]) throws -> ParsedArguments { try ParsedArguments(args, spec: spec) }

    /// The error message of a command line the table must refuse.
    private func refusal(_ args: [String], file: StaticString = #filePath, line: UInt = #line) -> String {
        do {
            _ = try parse(args)
            XCTFail("accepted \(args)", file: file, line: line)
            return ""
        } catch let e as FlagError {
            return e.description
        } catch {
            XCTFail("\(error)", file: file, line: line)
            return ""
        }
    }

    func testValuesDefaultsAndSyntax() throws {
        let a = try parse(["--model", "m", "--batch=8", "--normalize", "--tag", "x", "--tag", "y", "q", "--cutoffs", "5, 7"])
        XCTAssertEqual(a.value("model"), "m")
        XCTAssertEqual(a.int("batch"), 8)
        XCTAssertNil(a.int("layer"), "a default noted for help only parses to nil")
        XCTAssertEqual(a.double("timeout"), 10, "an absent flag gives the table's default")
        XCTAssertNil(a.given("timeout"), "given() ignores the default")
        XCTAssertFalse(a.isGiven("timeout"))
        XCTAssertTrue(a.isGiven("batch"))
        XCTAssertTrue(a.flag("normalize"))
        XCTAssertEqual(a.strings("tag"), ["x", "y"])
        XCTAssertEqual(a.ints("cutoffs"), [5, 7])
        XCTAssertEqual(a.positionals, ["q"])
        XCTAssertNil(a.string("pooling"))
        let b = try parse(["--model", "m", "--batch", "1", "--batch", "2", "--", "--not-a-flag"])
        XCTAssertEqual(b.int("batch"), 2, "the last value wins")
        XCTAssertEqual(b.positionals, ["--not-a-flag"])
        XCTAssertEqual(b.ints("cutoffs"), [1, 3, 10])
        XCTAssertEqual(try parse(["--model", "m", "--timeout", "0.5"]).double("timeout"), 0.5)
        XCTAssertEqual(try parse(["--model=a=b"]).value("model"), "a=b", "only the first = splits")
    }

    func testUnknownFlagIsRefusedWithASuggestion() {
        XCTAssertEqual(refusal(["--model", "m", "--bacth", "3"]), "unknown flag --bacth (did you mean --batch?); see `strata demo --help`")
        XCTAssertEqual(refusal(["--model", "m", "--norm"]), "unknown flag --norm (did you mean --normalize?); see `strata demo --help`")
        XCTAssertEqual(refusal(["--model", "m", "--zzzzzz"]), "unknown flag --zzzzzz; see `strata demo --help`")
    }

    func testMalformedValuesNameTheFlagAndTheValue() {
        XCTAssertEqual(refusal(["--model", "m", "--batch", "many"]), "--batch must be an integer in 1...4096, got 'many'")
        XCTAssertEqual(refusal(["--model", "m", "--batch", "0"]), "--batch must be an integer in 1...4096, got '0'")
        XCTAssertEqual(refusal(["--model", "m", "--layer", "-1"]), "--layer must be an integer in 0..., got '-1'")
        XCTAssertEqual(refusal(["--model", "m", "--timeout", "soon"]), "--timeout must be a number, got 'soon'")
        XCTAssertEqual(refusal(["--model", "m", "--timeout", "nan"]), "--timeout must be a number, got 'nan'")
        XCTAssertEqual(refusal(["--model", "m", "--timeout", "0"]), "--timeout must be more than 0, got '0'")
        XCTAssertEqual(refusal(["--model", "m", "--grace", "-1"]), "--grace must be 0 or more, got '-1'")
        XCTAssertEqual(refusal(["--model", "m", "--dropout", "1"]), "--dropout must be in [0, 1), got '1'")
        XCTAssertEqual(refusal(["--model", "m", "--pooling", "sum"]), "--pooling must be mean, cls or max, got 'sum'")
        XCTAssertEqual(refusal(["--model", "m", "--cutoffs", "1,,3"]), "--cutoffs must be a comma-separated list of integers 1 or more, got '1,,3'")
        XCTAssertEqual(refusal(["--model", "m", "--cutoffs", "0"]), "--cutoffs must be a comma-separated list of integers 1 or more, got '0'")
    }

    func testMissingValuesFlagsAndPositionals() {
        XCTAssertEqual(refusal(["--model"]), "--model needs a value (DIR)")
        XCTAssertEqual(refusal(["--batch", "3"]), "missing required flag --model DIR")
        XCTAssertEqual(refusal(["--model", "m", "--normalize=yes"]), "--normalize takes no value")
        XCTAssertEqual(refusal(["--model", "m", "q1", "q2"]), "unexpected argument 'q2'")
        let job = CommandSpec("job status", summary: "s", flags: [], positionals: [Positional("JOB_ID", help: "id")])
        XCTAssertThrowsError(try ParsedArguments([], spec: job)) { XCTAssertEqual("\($0)", "missing JOB_ID") }
    }

    func testRunTimeBoundUsesTheSameWords() throws {
        let a = try parse(["--model", "m", "--layer", "7"])
        XCTAssertThrowsError(try a.int("layer", within: 0...6)) { XCTAssertEqual("\($0)", "--layer must be an integer in 0...6, got '7'") }
        XCTAssertEqual(try a.int("layer", within: 0...7), 7)
    }

    func testHelpListsEveryFlagWithItsDefault() {
        let help = spec.help
        XCTAssertTrue(help.hasPrefix("usage: strata demo --model DIR [--batch N] [--layer K]"), help)
        for f in spec.flags {
            XCTAssertTrue(help.contains("--\(f.name)"), "--\(f.name) missing from:\n\(help)")
            XCTAssertTrue(help.contains(f.help), f.help)
        }
        XCTAssertTrue(help.contains("sequences per batch (default 32)"), help)
        XCTAssertTrue(help.contains("which layer (default: the last)"), help)
        XCTAssertTrue(help.contains("the model (required)"), help)
        XCTAssertTrue(help.contains("--pooling mean|cls|max"), help)
        XCTAssertTrue(help.contains("[QUERY]"), help)
        XCTAssertTrue(help.split(separator: "\n").allSatisfy { $0.count <= CommandSpec.width }, help)
    }

    func testTableResolvesGroupsAndSuggestsCommands() throws {
        let table = CommandTable(program: "strata", about: "test", commands: [
            CommandSpec("embed", summary: "embed", flags: []),
            CommandSpec("job embed", summary: "submit", flags: []),
            CommandSpec("job status", summary: "status", flags: [], positionals: [Positional("JOB_ID", help: "id")]),
        ], groups: [CommandGroup("job", summary: "jobs")])
        guard case .command(let c, let rest) = try table.resolve(["job", "status", "x"]) else { return XCTFail() }
        XCTAssertEqual(c.name, "job status"); XCTAssertEqual(rest, ["x"])
        guard case .group(let g, let grest) = try table.resolve(["job", "--help"]) else { return XCTFail() }
        XCTAssertEqual(g.name, "job"); XCTAssertEqual(grest, ["--help"])
        XCTAssertThrowsError(try table.resolve(["embd"])) { XCTAssertEqual("\($0)", "unknown command 'embd' (did you mean 'embed'?)") }
        XCTAssertEqual(table.topLevelNames, ["embed", "job"])
        XCTAssertTrue(try table.help(for: ["job", "status"]).contains("usage: strata job status JOB_ID"))
        let groupHelp = try table.help(for: ["job"])
        XCTAssertTrue(groupHelp.hasPrefix("usage: strata job embed\n       strata job status JOB_ID\n"), groupHelp)
        XCTAssertThrowsError(try table.help(for: ["job", "bogus"]))
    }

    func testSuggestions() {
        XCTAssertEqual(closestWord(to: "treads", among: ["threads", "top"]), "threads")
        XCTAssertEqual(closestWord(to: "max-top", among: ["max-top-k", "max-rerank"]), "max-top-k")
        XCTAssertNil(closestWord(to: "xyz", among: ["threads", "model"]))
        XCTAssertEqual(editDistance("kitten", "sitting"), 3)
    }
}
