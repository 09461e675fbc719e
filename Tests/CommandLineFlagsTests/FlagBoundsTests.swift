import XCTest
import CommandLineFlags

/// Upper bounds on number flags: a timeout is more than 0 and at most a bound, so that a huge value
/// is refused by the table instead of overflowing a conversion later (1e16 s trapped in Int64(ms)).
final class FlagBoundsTests: XCTestCase {
    let spec = CommandSpec("demo", summary: "a demo command", flags: [
        .double("timeout", "S", default: 10, .aboveAtMost(0, 86_400), help: "deadline"),
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
}
