import Foundation

/// Prometheus counters and histograms of the HTTP front door (thread-safe): requests by route
/// and status, request durations, and texts and tokens per embed/rerank request. Gauges of the
/// cluster (workers, shard replicas, queue depth, job progress) come from a coordinator snapshot.
final class ServingMetrics: @unchecked Sendable {
    /// Upper bounds of the duration histogram, seconds.
    static let durationBuckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let textBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 256]
    static let tokenBuckets: [Double] = [16, 64, 256, 1024, 4096, 16384, 65536]

    struct Histogram {
        var counts: [Int]
        var sum = 0.0
        var count = 0
        init(_ n: Int) { counts = [Int](repeating: 0, count: n) }
        mutating func observe(_ x: Double, _ bounds: [Double]) {
            for (i, b) in bounds.enumerated() where x <= b { counts[i] += 1 }
            sum += x; count += 1
        }
    }

    private let lock = NSLock()
    private var requests: [String: [Int: Int]] = [:]
    private var durations: [String: Histogram] = [:]
    private var texts: [String: Histogram] = [:]
    private var tokens: [String: Histogram] = [:]

    func record(route: String, status: Int, seconds: Double) {
        lock.lock(); defer { lock.unlock() }
        requests[route, default: [:]][status, default: 0] += 1
        durations[route, default: Histogram(Self.durationBuckets.count)].observe(seconds, Self.durationBuckets)
    }

    func recordBatch(route: String, texts n: Int, tokens t: Int) {
        lock.lock(); defer { lock.unlock() }
        texts[route, default: Histogram(Self.textBuckets.count)].observe(Double(n), Self.textBuckets)
        tokens[route, default: Histogram(Self.tokenBuckets.count)].observe(Double(t), Self.tokenBuckets)
    }

    /// The front door's own series in Prometheus text format (version 0.0.4).
    func render() -> String {
        lock.lock(); defer { lock.unlock() }
        var s = "# HELP strata_http_requests_total HTTP requests answered, by route and status.\n# TYPE strata_http_requests_total counter\n"
        for route in requests.keys.sorted() {
            for status in requests[route]!.keys.sorted() {
                s += "strata_http_requests_total{route=\"\(route)\",status=\"\(status)\"} \(requests[route]![status]!)\n"
            }
        }
        s += histogram("strata_http_request_duration_seconds", "Time from the request's arrival to its answer, by route.", durations, Self.durationBuckets)
        s += histogram("strata_request_texts", "Texts per embed/rerank request, by route.", texts, Self.textBuckets)
        s += histogram("strata_request_tokens", "Tokens per embed/rerank request (after truncation; 0 when the tokenizer is not readable on the coordinator), by route.",
                       tokens, Self.tokenBuckets)
        return s
    }

    private func histogram(_ name: String, _ help: String, _ h: [String: Histogram], _ bounds: [Double]) -> String {
        var s = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        for route in h.keys.sorted() {
            let x = h[route]!
            for (i, b) in bounds.enumerated() { s += "\(name)_bucket{route=\"\(route)\",le=\"\(b)\"} \(x.counts[i])\n" }
            s += "\(name)_bucket{route=\"\(route)\",le=\"+Inf\"} \(x.count)\n"
            s += "\(name)_sum{route=\"\(route)\"} \(x.sum)\n\(name)_count{route=\"\(route)\"} \(x.count)\n"
        }
        return s
    }
}
