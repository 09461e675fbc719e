import Foundation
import Kernels

/// Results of a layer-by-layer sweep: one evaluation per (model, layer).
public struct LayerSweep: Sendable {
    /// One model's curve.
    public struct Series: Sendable {
        /// Label in tables and the legend (e.g. "all-MiniLM-L6-v2 (DE)").
        public var model: String
        /// "dual encoder" or "cross encoder (self-pair)".
        public var kind: String
        /// metrics[layer][metric name]; layer 0 = embedding output.
        public var metrics: [[String: Double]]

        public init(model: String, kind: String, metrics: [[String: Double]]) {
            self.model = model; self.kind = kind; self.metrics = metrics
        }
    }

    public var dataset: String
    public var split: String
    public var queries: Int
    public var corpus: Int
    public var series: [Series]
    /// Metric names in report order.
    public var metricNames: [String]

    public init(dataset: String, split: String, queries: Int, corpus: Int, series: [Series], metricNames: [String]) {
        self.dataset = dataset; self.split = split; self.queries = queries; self.corpus = corpus
        self.series = series; self.metricNames = metricNames
    }

    /// Evaluates each hidden state: exact top-`k` search of `queryLayers[l]` against `docLayers[l]`
    /// (rows in `dataset.queries` / `dataset.corpus` order, normalised for cosine), then the
    /// trec_eval measures at `cutoffs`. Returns metrics[layer][name] and the metric names.
    public static func evaluateLayers(dataset: BEIRDataset, queryLayers: [Matrix], docLayers: [Matrix], k: Int = 100,
                                      cutoffs: [Int] = [1, 3, 5, 10, 100]) -> (metrics: [[String: Double]], names: [String]) {
        precondition(queryLayers.count == docLayers.count, "evaluateLayers: \(queryLayers.count) query layers, \(docLayers.count) document layers")
        let queryIds = dataset.queries.map(\.id), docIds = dataset.corpus.map(\.id)
        var out: [[String: Double]] = []
        var names: [String] = []
        for l in queryLayers.indices {
            let run = Retrieval.search(queryIds: queryIds, queryVectors: queryLayers[l], docIds: docIds, docVectors: docLayers[l], k: k)
            let ev = evaluate(run: run, qrels: dataset.qrels, cutoffs: cutoffs)
            out.append(ev.mean)
            names = ev.names
        }
        return (out, names)
    }

    /// JSON: {"dataset", "split", "queries", "corpus", "models": [{"model", "kind", "layers": [{"layer", metrics...}]}]}.
    public func json() throws -> Data {
        let models: [[String: Any]] = series.map { s in
            ["model": s.model, "kind": s.kind,
             "layers": s.metrics.enumerated().map { (i, m) -> [String: Any] in
                 var o: [String: Any] = ["layer": i]
                 for (k, v) in m { o[k] = v }
                 return o
             }]
        }
        let obj: [String: Any] = ["dataset": dataset, "split": split, "queries": queries, "corpus": corpus,
                                  "models": models, "metrics": metricNames]
        return try JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
    }

    /// A Markdown table per metric in `metrics`: a row per layer, a column per model; the best
    /// layer of each model in bold.
    public func markdown(metrics: [String]) -> String {
        var s = "Dataset \(dataset), split \(split): \(queries) queries, \(corpus) documents. "
        s += "Mean pooling of each layer's hidden states (layer 0 = embedding output); cross encoders embed a text paired with itself.\n"
        for metric in metrics {
            s += "\n| \(metric) | " + series.map { "\($0.model)" }.joined(separator: " | ") + " |\n"
            s += "|---:|" + String(repeating: "---:|", count: series.count) + "\n"
            let maxLayers = series.map(\.metrics.count).max() ?? 0
            let best = series.map { ser in ser.metrics.indices.max { (ser.metrics[$0][metric] ?? -1) < (ser.metrics[$1][metric] ?? -1) } }
            for layer in 0..<maxLayers {
                var row = "| \(layer) |"
                for (i, ser) in series.enumerated() {
                    if layer < ser.metrics.count, let v = ser.metrics[layer][metric] {
                        let cell = String(format: "%.4f", v)
                        row += best[i] == layer ? " **\(cell)** |" : " \(cell) |"
                    } else { row += " |" }
                }
                s += row + "\n"
            }
        }
        return s
    }
}
