import XCTest
import Eval

/// Metrics against pytrec_eval (trec_eval 9) values written by scripts/make-eval-goldens.
final class MetricsGoldenTests: XCTestCase {
    struct Case: Decodable {
        var name: String
        var qrels: [String: [String: Int]]
        var run: [String: [String: Double]]
        var per_query: [String: [String: Double]]
    }
    struct Goldens: Decodable { var cutoffs: [Int]; var cases: [Case] }

    func testEveryMeasureMatchesPytrecEvalWithin1e6() throws {
        let data = try Data(contentsOf: fixtureURL("metrics-goldens.json"))
        let goldens = try JSONDecoder().decode(Goldens.self, from: data)
        XCTAssertEqual(goldens.cases.count, 4)
        var compared = 0
        for c in goldens.cases {
            var run: Run = [:]
            for (qid, docs) in c.run {
                // Scores are multiples of 1/8: exact in Float. Shuffle-independent: dictionary order.
                run[qid] = docs.map { ($0.key, Float($0.value)) }
            }
            let ev = evaluate(run: run, qrels: c.qrels, cutoffs: goldens.cutoffs)
            XCTAssertEqual(Set(ev.perQuery.keys), Set(c.per_query.keys), "\(c.name): evaluated queries")
            for (qid, want) in c.per_query {
                guard let got = ev.perQuery[qid] else { continue }
                XCTAssertEqual(Set(got.keys), Set(want.keys), "\(c.name)/\(qid): metric names")
                for (name, w) in want {
                    XCTAssertEqual(got[name] ?? .nan, w, accuracy: 1e-6, "\(c.name)/\(qid)/\(name)")
                    compared += 1
                }
            }
            for name in ev.names {
                let m = c.per_query.values.map { $0[name]! }.reduce(0, +) / Double(c.per_query.count)
                XCTAssertEqual(ev.mean[name]!, m, accuracy: 1e-6, "\(c.name) mean \(name)")
            }
        }
        XCTAssertEqual(compared, 100 * 30)
    }

    func testTrecOrderIsScoreThenDocidDescending() {
        let ranked = trecOrder([("a", 0.5), ("z", 0.5), ("b", 0.75), ("aa", 0.5)]).map(\.0)
        XCTAssertEqual(ranked, ["b", "z", "aa", "a"])
    }

    func testMissingQueriesAreReported() {
        let qrels: Qrels = ["q1": ["d": 1], "q2": ["d": 1]]
        let run: Run = ["q1": [("d", 1)]]
        XCTAssertEqual(missingQueries(run: run, qrels: qrels), ["q2"])
        XCTAssertEqual(evaluate(run: run, qrels: qrels).queryCount, 1)
    }
}
