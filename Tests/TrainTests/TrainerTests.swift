import Kernels
import XCTest
import Train

/// The training loop on tiny models and a toy task: learning happens, runs are deterministic for a seed,
/// a resumed run equals an uninterrupted one, and gradient accumulation equals a bigger batch.
final class TrainerTests: XCTestCase {
    /// Toy tokenizer: [CLS]=1, words -> 3 + (sum of their bytes) % 27, [SEP]=2; pairs get type 1 on the second text.
    static let toy: TextTokenizer = {
        func words(_ s: String) -> [Int32] { s.split(separator: " ").map { Int32(3 + $0.utf8.reduce(0) { $0 + Int($1) } % 27) } }
        return TextTokenizer(single: { s in let w = [1] + words(s) + [2]; return (w, [Int32](repeating: 0, count: w.count)) },
                             pair: { a, b in
                                 let x = [1] + words(a) + [2], y = words(b) + [2]
                                 return (x + y, [Int32](repeating: 0, count: x.count) + [Int32](repeating: 1, count: y.count))
                             })
    }()

    /// Queries name a topic; the positive repeats it; negatives name another topic.
    static func examples(_ n: Int) -> [TrainingExample] {
        let topics = ["apple fruit", "car engine", "river water", "music song", "code bug", "snow cold", "book page", "dog bark"]
        return (0..<n).map { i in
            let t = topics[i % topics.count], o = topics[(i + 3) % topics.count]
            return TrainingExample(query: t, positive: "\(t) \(t.split(separator: " ")[0])", negatives: ["\(o) \(o)"],
                                   scores: [5, -3])
        }
    }

    static func model(ce: Bool, seed: UInt64 = 7) -> TrainableBert {
        let m = TrainableBert(shape: BertShape(vocabSize: 30, maxPositions: 16, typeVocabSize: 2, hidden: 16, layers: 2, heads: 2,
                                               intermediate: 32, hasClassifier: ce, numLabels: 1))
        var rng = SplitMix64(seed: seed)
        m.initialize(rng: &rng)
        return m
    }

    func options(_ objective: TrainObjective, steps: Int, batch: Int = 8) -> TrainOptions {
        var o = TrainOptions()
        o.objective = objective; o.batchSize = batch; o.epochs = 100; o.maxSteps = steps; o.lr = 3e-3; o.warmupRatio = 0.1
        o.seed = 11
        return o
    }

    func testDualEncoderLearnsWithMNRL() throws {
        let t = try Trainer(model: Self.model(ce: false), examples: Self.examples(64), tokenizer: Self.toy, options: options(.mnrl, steps: 60))
        try t.run()
        let first = t.state.losses.prefix(5).reduce(0, +) / 5, last = t.state.losses.suffix(5).reduce(0, +) / 5
        XCTAssertLessThan(last, 0.5 * first, "MNRL loss fell from \(first) to \(last)")
    }

    func testCrossEncoderLearnsWithBCEAndDistillation() throws {
        for obj in [TrainObjective.bce, .marginMSE, .kl] {
            var o = options(obj, steps: 200); o.lr = 5e-3
            let t = try Trainer(model: Self.model(ce: true), examples: Self.examples(64), tokenizer: Self.toy, options: o)
            try t.run()
            let first = t.state.losses.prefix(5).reduce(0, +) / 5, last = t.state.losses.suffix(5).reduce(0, +) / 5
            XCTAssertLessThan(last, 0.5 * first, "\(obj) loss fell from \(first) to \(last)")
        }
    }

    func testDualEncoderDistillationRuns() throws {
        for obj in [TrainObjective.marginMSE, .kl] {
            let t = try Trainer(model: Self.model(ce: false), examples: Self.examples(32), tokenizer: Self.toy, options: options(obj, steps: 40))
            try t.run()
            let first = t.state.losses.prefix(5).reduce(0, +) / 5, last = t.state.losses.suffix(5).reduce(0, +) / 5
            XCTAssertLessThan(last, first, "\(obj) DE loss fell from \(first) to \(last)")
        }
    }

    func testDeterministicForSeedAndResumeEqualsUninterrupted() throws {
        let ex = Self.examples(40), opts = options(.mnrl, steps: 6)
        let a = Self.model(ce: false), b = Self.model(ce: false)
        let ta = try Trainer(model: a, examples: ex, tokenizer: Self.toy, options: opts)
        try ta.run()
        try Trainer(model: b, examples: ex, tokenizer: Self.toy, options: opts).run()
        XCTAssertEqual(a.parameterArray, b.parameterArray, "same seed, same result")
        var other = opts; other.seed = 12
        let c = Self.model(ce: false)
        try Trainer(model: c, examples: ex, tokenizer: Self.toy, options: other).run()
        XCTAssertNotEqual(a.parameterArray, c.parameterArray, "another seed, another result")

        // interrupted after 3 steps, snapshot, fresh objects, resume
        let d = Self.model(ce: false)
        let t1 = try Trainer(model: d, examples: ex, tokenizer: Self.toy, options: opts)
        var calls = 0
        try t1.run(shouldStop: { calls += 1; return calls == 3 })
        XCTAssertEqual(t1.state.step, 3)
        let snapshot = (params: d.parameterArray, state: t1.state, m: t1.optimizer.m, v: t1.optimizer.v)
        let e = Self.model(ce: false, seed: 99)
        e.parameterArray = snapshot.params
        let t2 = try Trainer(model: e, examples: ex, tokenizer: Self.toy, options: opts,
                             resume: (snapshot.state, snapshot.m, snapshot.v))
        try t2.run()
        XCTAssertEqual(t2.state.step, 6)
        XCTAssertEqual(e.parameterArray, a.parameterArray, "resumed run equals the uninterrupted one")
        XCTAssertEqual(t2.state.losses, ta.state.losses, "same loss history")
    }

    func testGradientAccumulationEqualsBiggerBatch() throws {
        let ex = Self.examples(16)
        var big = options(.bce, steps: 1, batch: 8); big.hiddenDropout = 0; big.attentionDropout = 0
        var small = big; small.batchSize = 4; small.accumulation = 2
        let a = Self.model(ce: true), b = Self.model(ce: true)
        try Trainer(model: a, examples: ex, tokenizer: Self.toy, options: big).run()
        try Trainer(model: b, examples: ex, tokenizer: Self.toy, options: small).run()
        assertClose(b.parameterArray, a.parameterArray, atol: 1e-6, rtol: 1e-6, "accumulated vs big batch")
        XCTAssertNotEqual(a.parameterArray, Self.model(ce: true).parameterArray, "the step changed the parameters")
    }

    func testObjectiveMismatchIsAClearError() {
        XCTAssertThrowsError(try Trainer(model: Self.model(ce: false), examples: Self.examples(4), tokenizer: Self.toy,
                                         options: options(.bce, steps: 1))) {
            XCTAssertTrue(String(describing: $0).contains("bce needs a cross encoder"))
        }
        var ex = Self.examples(4); ex[2].scores = nil
        XCTAssertThrowsError(try Trainer(model: Self.model(ce: true), examples: ex, tokenizer: Self.toy,
                                         options: options(.kl, steps: 1))) {
            XCTAssertTrue(String(describing: $0).contains("example 3 has no \"scores\""))
        }
    }
}

final class TrainingStateTests: XCTestCase {
    func testStateRoundTripsThroughFiles() throws {
        let ex = TrainerTests.examples(16)
        var o = TrainOptions(); o.batchSize = 4; o.maxSteps = 2; o.lr = 1e-3
        let t = try Trainer(model: TrainerTests.model(ce: false), examples: ex, tokenizer: TrainerTests.toy, options: o)
        try t.run()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("strata-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try saveTrainingState(t, to: dir)
        let r = try loadTrainingState(from: dir)
        XCTAssertEqual(r.state, t.state)
        XCTAssertEqual(r.m, t.optimizer.m)
        XCTAssertEqual(r.v, t.optimizer.v)
        XCTAssertTrue(r.m.contains { $0 != 0 }, "moments are non-trivial")
        // a truncated optimizer file is a clear error naming it
        let opt = dir.appendingPathComponent(CheckpointFiles.optimizer)
        try Data(try Data(contentsOf: opt).prefix(20)).write(to: opt)
        XCTAssertThrowsError(try loadTrainingState(from: dir)) { XCTAssertTrue(String(describing: $0).contains(opt.path)) }
    }
}
