import XCTest
import Cluster

/// The client's seconds-to-milliseconds conversion never traps: 1e16 s and 1e300 s (which a command
/// line once passed through) clamp, NaN and negatives give 0.
final class ClientTimeoutTests: XCTestCase {
    func testMillisecondsClampInsteadOfTrapping() {
        XCTAssertEqual(ClusterClient.milliseconds(1.5), 1500)
        XCTAssertEqual(ClusterClient.milliseconds(0), 0)
        XCTAssertEqual(ClusterClient.milliseconds(-3), 0)
        XCTAssertEqual(ClusterClient.milliseconds(.nan), 0)
        XCTAssertEqual(ClusterClient.milliseconds(1e16), 1_000_000_000_000_000)
        XCTAssertEqual(ClusterClient.milliseconds(1e300), 1_000_000_000_000_000)
        XCTAssertEqual(ClusterClient.milliseconds(.infinity), 1_000_000_000_000_000)
    }
}
