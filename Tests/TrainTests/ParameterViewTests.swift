import Kernels
import Model
import XCTest
import Train

/// The typed views training reads (embedding stage, encoder layers, CE head) against the named layout:
/// every tensor's view, over the parameters and over the gradients, starts where the layout's entry of
/// that name does and has its shape; and the check `ParameterLayout` runs when it is built refuses
/// views that disagree, naming the tensor.
final class ParameterViewTests: XCTestCase {
    /// Sizes that all differ, so a view reading a neighbour of the right tensor, or with a swapped
    /// shape, shows.
    let shape = BertShape(vocabSize: 13, maxPositions: 11, typeVocabSize: 3, hidden: 8, layers: 2, heads: 2,
                          intermediate: 20, hasClassifier: true, numLabels: 3)

    /// name -> (parameter pointer, gradient pointer, shape), read off the model's views. Written out here,
    /// tensor by tensor, independently of `ParameterLayout.viewedTensors`.
    func viewTable(_ m: TrainableBert) -> [String: (param: UnsafePointer<Float>, grad: UnsafePointer<Float>, shape: [Int])] {
        var t: [String: (param: UnsafePointer<Float>, grad: UnsafePointer<Float>, shape: [Int])] = [:]
        let N = BertTensorNames.self
        let e = m.embeddingWeights, eg = m.embeddingGradients, h = e.hidden
        t[N.wordEmbeddings] = (e.word, eg.word, [e.vocab, h])
        t[N.positionEmbeddings] = (e.position, eg.position, [e.positions, h])
        t[N.tokenTypeEmbeddings] = (e.tokenType, eg.tokenType, [e.typeVocab, h])
        t[N.embeddingsLayerNorm + ".weight"] = (e.gamma, eg.gamma, [h])
        t[N.embeddingsLayerNorm + ".bias"] = (e.beta, eg.beta, [h])
        func dense(_ name: String, _ w: DenseWeights, _ g: DenseWeights) {
            let (pw, gw) = (w.borrowedPointers!, g.borrowedPointers!)
            t[name + ".weight"] = (pw.weight, gw.weight, [w.outFeatures, w.inFeatures])
            t[name + ".bias"] = (pw.bias, gw.bias, [w.outFeatures])
        }
        func norm(_ name: String, _ w: NormWeights, _ g: NormWeights) {
            let (pw, gw) = (w.borrowedPointers!, g.borrowedPointers!)
            t[name + ".weight"] = (pw.gamma, gw.gamma, [h])
            t[name + ".bias"] = (pw.beta, gw.beta, [h])
        }
        for (l, (w, g)) in zip(m.layerWeights, m.layerGradients).enumerated() {
            let p = N.layer(l)
            // the fused [3H, H] projection: query, key, value row blocks; [3H] bias likewise
            let (pq, gq) = (w.qkv.borrowedPointers!, g.qkv.borrowedPointers!)
            XCTAssertEqual([w.qkv.outFeatures, w.qkv.inFeatures], [3 * h, h], "layer \(l) qkv view")
            for (k, module) in [p.query, p.key, p.value].enumerated() {
                t[module + ".weight"] = (pq.weight + k * h * h, gq.weight + k * h * h, [h, h])
                t[module + ".bias"] = (pq.bias + k * h, gq.bias + k * h, [h])
            }
            dense(p.attentionOutput, w.attentionOutput, g.attentionOutput)
            norm(p.attentionLayerNorm, w.attentionNorm, g.attentionNorm)
            dense(p.intermediate, w.intermediate, g.intermediate)
            dense(p.output, w.output, g.output)
            norm(p.outputLayerNorm, w.outputNorm, g.outputNorm)
        }
        if let w = m.headWeights, let g = m.headGradients {
            dense(N.pooler, w.pooler, g.pooler)
            dense(N.classifier, w.classifier, g.classifier)
        }
        return t
    }

    func testEveryViewReadsItsNamedTensorInParametersAndGradients() {
        for s in [shape, BertShape(vocabSize: 13, maxPositions: 11, typeVocabSize: 3, hidden: 8, layers: 1, heads: 2,
                                   intermediate: 20)] {
            let m = TrainableBert(shape: s)
            XCTAssertEqual(m.headWeights == nil, !s.hasClassifier)
            XCTAssertEqual(m.headGradients == nil, !s.hasClassifier)
            let table = viewTable(m)
            XCTAssertEqual(Set(table.keys), Set(m.layout.entries.map(\.name)), "the views cover exactly the layout's tensors")
            for e in m.layout.entries {
                guard let v = table[e.name] else { continue }
                XCTAssertEqual(v.param, UnsafePointer(m.params + e.offset), "parameter view of \(e.name)")
                XCTAssertEqual(v.grad, UnsafePointer(m.grads + e.offset), "gradient view of \(e.name)")
                XCTAssertEqual(v.shape, e.shape, "view shape of \(e.name)")
            }
            // and the typed offsets the layout checks itself against agree with its entries
            XCTAssertEqual(ParameterLayout.mismatches(entries: m.layout.entries, viewed: m.layout.viewedTensors), [])
        }
    }

    /// `initialize` goes by each entry's role; the HF rule by name gives the same values.
    func testInitializationByRoleFollowsTheNames() {
        let m = TrainableBert(shape: shape)
        var rng = SplitMix64(seed: 3)
        m.initialize(rng: &rng)
        for e in m.layout.entries {
            let v = Array(UnsafeBufferPointer(start: m.params + e.offset, count: e.count))
            if e.name.contains("LayerNorm.weight") {
                XCTAssertEqual(Set(v), [1], e.name)
            } else if e.name.hasSuffix(".bias") || e.name.contains("LayerNorm") {
                XCTAssertEqual(Set(v), [0], e.name)
            } else {
                XCTAssertGreaterThan(Set(v).count, e.count / 2, "\(e.name) is drawn at random")
            }
        }
    }

    /// The check `ParameterLayout.init` runs (and refuses with a precondition, which a test cannot catch
    /// without crashing its process) names each disagreement: shape, offset, a missing or unknown tensor.
    func testViewsThatDisagreeWithTheLayoutAreRefusedByName() throws {
        let layout = ParameterLayout(shape)
        let good = layout.viewedTensors
        func problems(_ change: (inout [ViewedTensor]) -> Void) -> [String] {
            var v = good
            change(&v)
            return ParameterLayout.mismatches(entries: layout.entries, viewed: v)
        }
        func at(_ name: String) -> Int { good.firstIndex { $0.name == name }! }
        XCTAssertEqual(problems { _ in }, [])
        let N = BertTensorNames.self

        // a word table one row too tall
        var p = problems { $0[at(N.wordEmbeddings)].shape = [14, 8] }
        XCTAssertEqual(p.count, 1)
        let word = try XCTUnwrap(p.first)
        XCTAssertTrue(word.contains(N.wordEmbeddings) && word.contains("[14, 8]") && word.contains("[13, 8]"), word)

        // LayerNorm gamma and beta read the wrong way round
        p = problems { v in
            let g = at(N.embeddingsLayerNorm + ".weight"), b = at(N.embeddingsLayerNorm + ".bias")
            (v[g].offset, v[b].offset) = (v[b].offset, v[g].offset)
        }
        XCTAssertEqual(p.count, 2)
        XCTAssertTrue(p.contains { $0.contains("embedding LayerNorm gamma") && $0.contains(N.embeddingsLayerNorm + ".weight") }, "\(p)")

        // key rows that are not after the query's (the fused QKV view would read the value)
        let key = N.layer(1).key + ".weight", value = N.layer(1).value + ".weight"
        p = problems { $0[at(key)].offset = good[at(value)].offset }
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].contains(key) && p[0].contains("layer 1 fused QKV weight"), "\(p)")

        // a classifier view of the wrong label count
        p = problems { $0[at(N.classifier + ".weight")].shape = [1, 8] }
        XCTAssertEqual(p.count, 1)
        XCTAssertTrue(p[0].contains("classifier.weight") && p[0].contains("[3, 8]"), "\(p)")

        // a tensor no view reads, one the layout lacks, one read twice
        XCTAssertEqual(problems { $0.remove(at: at(N.pooler + ".bias")) }, ["no typed view reads pooler.dense.bias"])
        p = problems { $0[at(N.pooler + ".bias")].name = "pooler.dense.bogus" }
        XCTAssertEqual(Set(p), ["head pooler bias reads pooler.dense.bogus, which the layout lacks",
                                "no typed view reads pooler.dense.bias"])
        p = problems { $0.append($0[at(N.positionEmbeddings)]) }
        XCTAssertEqual(p, ["embeddings.position_embeddings.weight is read by two views (embedding position table)"])
    }
}
