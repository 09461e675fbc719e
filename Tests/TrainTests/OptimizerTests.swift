import XCTest
import Train

/// AdamW + clipping + schedule against a NumPy transcription of torch.optim.AdamW, clip_grad_norm_ and
/// get_linear_schedule_with_warmup (Fixtures/train_goldens.json "adamw"), 4 steps, at 1e-6.
final class OptimizerTests: XCTestCase {
    func testAdamWMatchesTorchSemantics() throws {
        let a = try loadFixture("train_goldens.json")["adamw"] as! [String: Any]
        let decay = (a["decay"] as! [Bool])
        // a layout whose decay flags match the fixture: map each element to a tensor
        let p0 = floats(a["params"])
        let num = { (k: String) in Float((a[k] as! NSNumber).doubleValue) }
        let int = { (k: String) in (a[k] as! NSNumber).intValue }
        let opt = AdamW(decayMask: decay, config: AdamWConfig(lr: num("lr"), weightDecay: num("weight_decay"),
                                                             maxGradNorm: num("max_grad_norm")))
        var params = p0
        for (s, gAny) in (a["grads"] as! [Any]).enumerated() {
            var g = floats(gAny)
            let scale = linearWarmupDecay(step: s, warmupSteps: int("warmup"), totalSteps: int("total"))
            opt.update(params: &params, grads: &g, lrScale: scale)
            assertClose(params, floats((a["trajectory"] as! [Any])[s]), atol: 1e-6, rtol: 1e-6, "step \(s + 1)")
        }
        XCTAssertEqual(opt.step, 4)
    }

    func testScheduleShape() {
        XCTAssertEqual(linearWarmupDecay(step: 0, warmupSteps: 10, totalSteps: 100), 0)
        XCTAssertEqual(linearWarmupDecay(step: 5, warmupSteps: 10, totalSteps: 100), 0.5)
        XCTAssertEqual(linearWarmupDecay(step: 10, warmupSteps: 10, totalSteps: 100), 1)
        XCTAssertEqual(linearWarmupDecay(step: 55, warmupSteps: 10, totalSteps: 100), 0.5)
        XCTAssertEqual(linearWarmupDecay(step: 100, warmupSteps: 10, totalSteps: 100), 0)
    }

    func testNoDecayRuleFollowsHF() {
        let layout = ParameterLayout(BertShape(vocabSize: 5, maxPositions: 4, typeVocabSize: 2, hidden: 4, layers: 1,
                                               heads: 1, intermediate: 8, hasClassifier: true))
        for e in layout.entries {
            let noDecay = e.name.hasSuffix(".bias") || e.name.contains("LayerNorm")
            XCTAssertEqual(e.decay, !noDecay, e.name)
        }
    }
}
