import Foundation

/// A line chart as a standalone SVG document (no scripts, no external fonts or styles), so a
/// browser shows it as it is: one panel per metric, metric against layer, a line per model.
public struct SVGLinePlot {
    /// One panel: a title, a y-axis label and a line per series (x = 0, 1, 2, ...).
    public struct Panel {
        public var title: String
        public var yLabel: String
        public var series: [(label: String, values: [Double])]
        public init(title: String, yLabel: String, series: [(label: String, values: [Double])]) {
            self.title = title; self.yLabel = yLabel; self.series = series
        }
    }

    public var title: String
    public var xLabel: String
    public var panels: [Panel]
    public var panelWidth = 460.0
    public var panelHeight = 340.0

    public init(title: String, xLabel: String, panels: [Panel]) {
        self.title = title; self.xLabel = xLabel; self.panels = panels
    }

    static let colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    static let dashes = ["", "6,3", "2,2", "8,3,2,3"]

    /// Escapes text for XML.
    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func f(_ x: Double) -> String { String(format: "%.1f", x) }

    /// "Nice" tick step for a range (1, 2 or 5 times a power of ten).
    static func niceStep(_ range: Double, ticks: Int) -> Double {
        let raw = max(range, 1e-9) / Double(ticks)
        let p = pow(10, floor(log10(raw)))
        for m in [1.0, 2.0, 5.0, 10.0] where m * p >= raw { return m * p }
        return 10 * p
    }

    /// The SVG document.
    public func render() -> String {
        let legendRows = Double(panels.map(\.series.count).max() ?? 0)
        let top = 50.0, legendH = 22 * legendRows + 16
        let width = panelWidth * Double(max(1, panels.count)) + 20
        let height = top + panelHeight + legendH + 24
        var s = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.f(width))" height="\(Self.f(height))" viewBox="0 0 \(Self.f(width)) \(Self.f(height))" font-family="Helvetica, Arial, sans-serif">
        <rect x="0" y="0" width="\(Self.f(width))" height="\(Self.f(height))" fill="white"/>
        <text x="\(Self.f(width / 2))" y="28" text-anchor="middle" font-size="17" font-weight="bold">\(Self.esc(title))</text>

        """
        for (pi, panel) in panels.enumerated() {
            let x0 = 10 + Double(pi) * panelWidth + 70, x1 = 10 + Double(pi + 1) * panelWidth - 20
            let y0 = top + panelHeight - 50, y1 = top + 20
            let n = panel.series.map(\.values.count).max() ?? 1
            let all = panel.series.flatMap(\.values).filter(\.isFinite)
            var lo = all.min() ?? 0, hi = all.max() ?? 1
            if hi - lo < 1e-9 { lo -= 0.05; hi += 0.05 }
            let step = Self.niceStep(hi - lo, ticks: 5)
            lo = max(0, floor(lo / step) * step); hi = ceil(hi / step) * step
            if hi <= lo { hi = lo + step }
            func px(_ i: Int) -> Double { n <= 1 ? (x0 + x1) / 2 : x0 + (x1 - x0) * Double(i) / Double(n - 1) }
            func py(_ v: Double) -> Double { y0 - (y0 - y1) * (v - lo) / (hi - lo) }
            s += "<g>\n<text x=\"\(Self.f((x0 + x1) / 2))\" y=\"\(Self.f(y1 - 6))\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">\(Self.esc(panel.title))</text>\n"
            // y grid, ticks and labels
            var v = lo
            while v <= hi + step / 2 {
                let y = py(v)
                s += "<line x1=\"\(Self.f(x0))\" y1=\"\(Self.f(y))\" x2=\"\(Self.f(x1))\" y2=\"\(Self.f(y))\" stroke=\"#e0e0e0\" stroke-width=\"1\"/>\n"
                s += "<text x=\"\(Self.f(x0 - 8))\" y=\"\(Self.f(y + 4))\" text-anchor=\"end\" font-size=\"11\">\(String(format: step < 0.01 ? "%.3f" : "%.2f", v))</text>\n"
                v += step
            }
            // x ticks and labels
            for i in 0..<n {
                s += "<line x1=\"\(Self.f(px(i)))\" y1=\"\(Self.f(y0))\" x2=\"\(Self.f(px(i)))\" y2=\"\(Self.f(y0 + 5))\" stroke=\"black\"/>\n"
                s += "<text x=\"\(Self.f(px(i)))\" y=\"\(Self.f(y0 + 19))\" text-anchor=\"middle\" font-size=\"11\">\(i)</text>\n"
            }
            // axes
            s += "<line x1=\"\(Self.f(x0))\" y1=\"\(Self.f(y0))\" x2=\"\(Self.f(x1))\" y2=\"\(Self.f(y0))\" stroke=\"black\" stroke-width=\"1.2\"/>\n"
            s += "<line x1=\"\(Self.f(x0))\" y1=\"\(Self.f(y0))\" x2=\"\(Self.f(x0))\" y2=\"\(Self.f(y1))\" stroke=\"black\" stroke-width=\"1.2\"/>\n"
            s += "<text x=\"\(Self.f((x0 + x1) / 2))\" y=\"\(Self.f(y0 + 38))\" text-anchor=\"middle\" font-size=\"12\">\(Self.esc(xLabel))</text>\n"
            let ly = (y0 + y1) / 2, lx = x0 - 52
            s += "<text x=\"\(Self.f(lx))\" y=\"\(Self.f(ly))\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 \(Self.f(lx)) \(Self.f(ly)))\">\(Self.esc(panel.yLabel))</text>\n"
            // lines
            for (si, ser) in panel.series.enumerated() {
                let color = Self.colors[si % Self.colors.count], dash = Self.dashes[(si / Self.colors.count + si) % Self.dashes.count]
                let pts = ser.values.enumerated().filter { $0.element.isFinite }.map { "\(Self.f(px($0.offset))),\(Self.f(py($0.element)))" }
                s += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.2\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"") points=\"\(pts.joined(separator: " "))\"/>\n"
                for (i, val) in ser.values.enumerated() where val.isFinite {
                    s += "<circle cx=\"\(Self.f(px(i)))\" cy=\"\(Self.f(py(val)))\" r=\"3.5\" fill=\"\(color)\"><title>\(Self.esc(ser.label)) layer \(i): \(String(format: "%.4f", val))</title></circle>\n"
                }
            }
            s += "</g>\n"
        }
        // legend (shared by the panels: series i has the same colour everywhere)
        let labels = panels.first?.series.map(\.label) ?? []
        let lx = 90.0, ly = top + panelHeight + 16
        for (i, label) in labels.enumerated() {
            let y = ly + 22 * Double(i)
            let color = Self.colors[i % Self.colors.count], dash = Self.dashes[(i / Self.colors.count + i) % Self.dashes.count]
            s += "<line x1=\"\(Self.f(lx))\" y1=\"\(Self.f(y))\" x2=\"\(Self.f(lx + 36))\" y2=\"\(Self.f(y))\" stroke=\"\(color)\" stroke-width=\"2.2\"\(dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\"")/>\n"
            s += "<circle cx=\"\(Self.f(lx + 18))\" cy=\"\(Self.f(y))\" r=\"3.5\" fill=\"\(color)\"/>\n"
            s += "<text x=\"\(Self.f(lx + 46))\" y=\"\(Self.f(y + 4))\" font-size=\"12\">\(Self.esc(label))</text>\n"
        }
        s += "</svg>\n"
        return s
    }
}

extension LayerSweep {
    /// The sweep as an SVG plot, one panel per metric (e.g. ["nDCG@10", "MRR@10"]).
    public func svg(metrics: [String]) -> String {
        let panels = metrics.map { m in
            SVGLinePlot.Panel(title: m, yLabel: m, series: series.map { ser in
                (label: "\(ser.model) (\(ser.kind))", values: ser.metrics.map { $0[m] ?? .nan })
            })
        }
        return SVGLinePlot(title: "\(dataset) (\(split), \(queries) queries, \(corpus) docs): retrieval by layer",
                           xLabel: "layer (0 = embeddings)", panels: panels).render()
    }
}
