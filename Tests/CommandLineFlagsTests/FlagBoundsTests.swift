import XCTest
import CommandLineFlags

/// Upper bounds on number flags: a timeout is more than 0 and at most a bound, so that a huge value
/// is refused by the table instead of overflowing a conversion later (1e16 s trapped in Int64(ms)).
final class FlagBoundsTests: XCTestCase {
    let spec = CommandSpec("demo", summary: "a demo command", flags: [
        .double("timeout", "S", default: 10, .aboveAtMost(0, 86_400), help: "deadline"),
        .string("model", "DIR", help: "the model"),
        .path("input", "FILE", help: "the input"),
    ])

    func testAboveAtMostAcceptsTheRangeAndRefusesBothEnds() throws {
        XCTAssertEqual(try ParsedArguments(["--timeout", "86400"], spec: spec).double("timeout"), 86_400)
        XCTAssertEqual(try ParsedArguments(["--timeout", "0.5"], spec: spec).double("timeout"), 0.5)
        for bad in ["0", "-1", "86400.5", "1e16", "1e300", "inf"] {
            XCTAssertThrowsError(try ParsedArguments(["--timeout", bad], spec: spec), bad) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains("--timeout"), text)
                if bad != "inf" { XCTAssertTrue(text.contains("more than 0 and at most 86400"), text) }
            }
        }
    }

    /// `--model --input t.txt`: the value was forgotten; the next flag must not become it.
    func testAFlagIsNotTakenAsTheValueOfTheOneBefore() throws {
        for args in [["--model", "--input", "t.txt"], ["--model", "--input=t.txt"]] {
            XCTAssertThrowsError(try ParsedArguments(args, spec: spec), "\(args)") {
                XCTAssertEqual("\($0)", "--model needs a value (DIR); got the flag \(args[1])")
            }
        }
        // Values that merely start with dashes are values: not a flag of this command, or given inline.
        XCTAssertEqual(try ParsedArguments(["--model", "--not-a-flag"], spec: spec).string("model"), "--not-a-flag")
        XCTAssertEqual(try ParsedArguments(["--model=--input"], spec: spec).string("model"), "--input")
        XCTAssertEqual(try ParsedArguments(["--timeout", "5"], spec: spec).double("timeout"), 5)
    }

    func testEmptyStringAndPathValuesAreRefused() {
        XCTAssertThrowsError(try ParsedArguments(["--model", ""], spec: spec)) { XCTAssertEqual("\($0)", "--model needs a non-empty value") }
        XCTAssertThrowsError(try ParsedArguments(["--model="], spec: spec)) { XCTAssertEqual("\($0)", "--model needs a non-empty value") }
        XCTAssertThrowsError(try ParsedArguments(["--input", ""], spec: spec)) { XCTAssertTrue("\($0)".contains("non-empty"), "\($0)") }
    }
}
