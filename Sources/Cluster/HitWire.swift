import Index
import Wire

/// The wire edge of search results. In the cluster's logic a result is the Index module's
/// `SearchHit` (index = the document's global position in the corpus), ranked by
/// `SearchHit.ranksBefore` and merged by `TopK.merge`; a `Wire.Hit` (which also carries the
/// document id) exists only where results cross a socket: a worker's SearchShardReply and the
/// coordinator's SearchReply.
extension SearchHit {
    /// This hit as the wire carries it, with its document's id.
    public func wire(id: String) -> Hit { Hit(docIndex: index, docID: id, score: score) }
}

extension Hit {
    /// The hit as the cluster's logic ranks it (the id is dropped: the index names the document).
    public var searchHit: SearchHit { SearchHit(index: docIndex, score: score) }

    /// The one ranking order (`SearchHit.ranksBefore`), for lists that arrived over the wire.
    public static func ranksBefore(_ a: Hit, _ b: Hit) -> Bool { SearchHit.ranksBefore(a.searchHit, b.searchHit) }
}
