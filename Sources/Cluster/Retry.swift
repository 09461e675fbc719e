/// Bounded retries with exponential back-off, as pure data: every retry loop of the coordinator
/// keeps one of these per thing it retries (cluster/README.md lists them).
public struct RetryState: Sendable, Equatable {
    /// Failures so far.
    public private(set) var failures = 0
    /// No new try before this time (seconds since 1970).
    public private(set) var nextTry = 0.0
    /// The last failure's message.
    public private(set) var lastError = ""

    public init() {}

    /// Records a failure at `now`: the next try waits `initial` x 2^(failures-1), at most `max`.
    public mutating func failed(_ error: String, now: Double, initial: Double = ProtocolConstants.retryInitial,
                                max: Double = ProtocolConstants.retryMax) {
        failures += 1
        lastError = error
        nextTry = now + Self.delay(afterFailures: failures, initial: initial, max: max)
    }

    /// The back-off after `n` failures (n >= 1).
    public static func delay(afterFailures n: Int, initial: Double = ProtocolConstants.retryInitial, max: Double = ProtocolConstants.retryMax) -> Double {
        var d = initial
        for _ in 1..<Swift.max(1, n) where d < max { d *= 2 }
        return Swift.min(d, max)
    }

    /// True when a try is allowed at `now` (under the cap and past the back-off).
    public func mayTry(now: Double, cap: Int) -> Bool { failures < cap && now >= nextTry }

    /// True once `cap` failures happened.
    public func exhausted(cap: Int) -> Bool { failures >= cap }
}

/// Log lines and error texts of bounded length: a line longer than the limit (a 20 MB line was once
/// printed: a whole request in an error) is cut on a UTF-8 boundary, with a note of its full length.
public enum LogLine {
    public static func cap(_ s: String, maxBytes: Int = ProtocolConstants.maxLogLineBytes) -> String {
        let n = s.utf8.count
        guard n > maxBytes else { return s }
        // Back off to a character boundary (never splitting a UTF-8 sequence).
        var cut = s.utf8.index(s.utf8.startIndex, offsetBy: maxBytes)
        while cut > s.utf8.startIndex && String.Index(cut, within: s) == nil { cut = s.utf8.index(before: cut) }
        let head = String(s[..<cut])
        return head + " ... [cut: \(n) bytes in all]"
    }

    /// One line for a journal record or status: newlines and tabs become spaces, then `cap`.
    public static func oneLine(_ s: String, maxBytes: Int = ProtocolConstants.maxJobErrorBytes) -> String {
        cap(String(s.map { $0 == "\n" || $0 == "\r" || $0 == "\t" ? " " : $0 }), maxBytes: maxBytes)
    }
}
