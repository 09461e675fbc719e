/// Which connection (file descriptor, from ZMQ_SRCFD) each peer's messages last came in on, so
/// that a disconnect seen by the ROUTER's socket monitor names the peers it cut off. Pure data.
/// A descriptor is reused by the kernel only after its connection closed; a peer that
/// reconnects is re-mapped by its next message.
public struct ConnectionTable: Sendable {
    private var fdOf: [Peer: Int32] = [:]
    private var peersOn: [Int32: Set<Peer>] = [:]

    public init() {}

    /// A message from `peer` arrived on connection `fd` (-1: unknown, ignored).
    public mutating func saw(_ peer: Peer, fd: Int32) {
        guard fd >= 0, fdOf[peer] != fd else { return }
        if let old = fdOf[peer] { peersOn[old]?.remove(peer) }
        fdOf[peer] = fd
        peersOn[fd, default: []].insert(peer)
    }

    /// Connection `fd` dropped: the peers whose messages last came in on it (forgotten here).
    public mutating func dropped(fd: Int32) -> [Peer] {
        let peers = peersOn.removeValue(forKey: fd) ?? []
        for p in peers { fdOf[p] = nil }
        return peers.sorted()
    }
}
