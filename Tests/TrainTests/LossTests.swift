import XCTest
import Train

/// Each loss against the autograd reference values (Fixtures/train_goldens.json "losses", Float64) at 1e-5,
/// and against finite differences.
final class LossTests: XCTestCase {
    var ref: [String: Any] = [:]
    override func setUpWithError() throws { ref = try loadFixture("train_goldens.json")["losses"] as! [String: Any] }
    func num(_ k: String) -> Double { (ref[k] as! NSNumber).doubleValue }

    func testMNRLMatchesReference() {
        let a = floats(ref["anchors"]), c = floats(ref["candidates"]), d = 5
        for sym in [false, true] {
            let key = sym ? "mnrl_sym" : "mnrl"
            let r = multipleNegativesRankingLoss(anchors: a, candidates: c, dim: d, symmetric: sym)
            XCTAssertEqual(r.loss, num(key), accuracy: 1e-4, key)
            assertClose(r.grads[0], floats(ref[key + "_da"]), atol: 1e-5, rtol: 1e-4, key + " da")
            assertClose(r.grads[1], floats(ref[key + "_dc"]), atol: 1e-5, rtol: 1e-4, key + " dc")
            checkGradient(key + " anchors", x: a, analytic: r.grads[0], h: 1e-3) {
                multipleNegativesRankingLoss(anchors: $0, candidates: c, dim: d, symmetric: sym).loss
            }
        }
    }

    func testScoreLossesMatchReference() {
        let s = floats(ref["student"]), t = floats(ref["teacher"]), c = 4
        let mm = marginMSELoss(student: s, teacher: t, candidates: c)
        XCTAssertEqual(mm.loss, num("margin_mse"), accuracy: 1e-4)
        assertClose(mm.grads[0], floats(ref["margin_mse_ds"]), atol: 1e-5, rtol: 1e-4, "margin mse")
        checkGradient("margin mse", x: s, analytic: mm.grads[0], h: 1e-3) { marginMSELoss(student: $0, teacher: t, candidates: c).loss }
        let kl = klDistillationLoss(student: s, teacher: t, candidates: c, temperature: 2)
        XCTAssertEqual(kl.loss, num("kl_t2"), accuracy: 1e-5)
        assertClose(kl.grads[0], floats(ref["kl_t2_ds"]), atol: 1e-6, rtol: 1e-4, "kl")
        let x = floats(ref["logits"]), y = floats(ref["labels"])
        let bce = bceWithLogitsLoss(logits: x, labels: y)
        XCTAssertEqual(bce.loss, num("bce"), accuracy: 1e-6)
        assertClose(bce.grads[0], floats(ref["bce_dx"]), atol: 1e-7, rtol: 1e-5, "bce")
    }

    func testGroupedDotScoresBackward() {
        let q = randomFloats(2 * 3, seed: 40), docs = randomFloats(2 * 3 * 3, seed: 41), w = randomFloats(6, seed: 42)
        let g = groupedDotScoresBackward(dScores: w, queries: q, docs: docs, candidates: 3, dim: 3)
        checkGradient("dot q", x: q, analytic: g.dQueries) { probe(groupedDotScores(queries: $0, docs: docs, candidates: 3, dim: 3), w) }
        checkGradient("dot d", x: docs, analytic: g.dDocs) { probe(groupedDotScores(queries: q, docs: $0, candidates: 3, dim: 3), w) }
    }
}
