import XCTest
import Foundation
import Model
#if canImport(FoundationXML)
import FoundationXML
#endif
import Eval

final class ReportTests: XCTestCase {
    let sweep = LayerSweep(
        dataset: "toy <set>", split: "test", queries: 3, corpus: 10,
        series: [
            .init(model: "de", kind: "dual encoder", metrics: [["nDCG@10": 0.2, "MRR@10": 0.25], ["nDCG@10": 0.5, "MRR@10": 0.45], ["nDCG@10": 0.4, "MRR@10": 0.5]]),
            .init(model: "ce", kind: "cross encoder (self-pair)", metrics: [["nDCG@10": 0.3, "MRR@10": 0.35], ["nDCG@10": 0.6, "MRR@10": 0.55], ["nDCG@10": 0.1, "MRR@10": 0.15]]),
        ],
        metricNames: ["nDCG@10", "MRR@10"])

    /// Counts elements by name while checking the document is well-formed XML.
    final class Counter: NSObject, XMLParserDelegate {
        var counts: [String: Int] = [:]
        var texts: [String] = []
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            counts[name, default: 0] += 1
        }
        func parser(_ parser: XMLParser, foundCharacters string: String) { texts.append(string) }
    }

    func testSVGIsWellFormedWithALinePerModelPerPanelAndLabels() throws {
        let svg = sweep.svg(metrics: ["nDCG@10", "MRR@10"])
        let parser = XMLParser(data: Data(svg.utf8))
        let counter = Counter()
        parser.delegate = counter
        XCTAssertTrue(parser.parse(), "SVG must be well-formed XML: \(String(describing: parser.parserError))")
        XCTAssertEqual(counter.counts["svg"], 1)
        XCTAssertEqual(counter.counts["polyline"], 4, "2 models x 2 panels")
        XCTAssertEqual(counter.counts["circle"], 4 * 3 + 2, "a marker per point, plus one per legend entry")
        let text = counter.texts.joined()  // the parser may split text around entities
        for label in ["nDCG@10", "MRR@10", "layer (0 = embeddings)", "de (dual encoder)", "ce (cross encoder (self-pair))", "toy <set>"] {
            XCTAssertTrue(text.contains(label), "missing label \(label)")
        }
    }

    func testMarkdownTableMarksBestLayer() {
        let md = sweep.markdown(metrics: ["nDCG@10"])
        XCTAssertTrue(md.contains("| nDCG@10 | de | ce |"))
        XCTAssertTrue(md.contains("| 1 | **0.5000** | **0.6000** |"), md)
        XCTAssertTrue(md.contains("| 2 | 0.4000 | 0.1000 |"), md)
    }

    func testJSONRoundTrips() throws {
        let obj = try JSONSerialization.jsonObject(with: sweep.json()) as! [String: Any]
        let models = obj["models"] as! [[String: Any]]
        XCTAssertEqual(models.count, 2)
        let layers = models[1]["layers"] as! [[String: Any]]
        XCTAssertEqual(layers[1]["nDCG@10"] as! Double, 0.6)
        XCTAssertEqual(layers[2]["layer"] as! Int, 2)
    }
}
