// libFuzzer harness: Wire's envelope decoder (every frame a cluster socket receives).
// A frame either decodes or throws WireError, never crashes; one that decodes re-encodes (or is
// refused with an error, e.g. a NUL inside a string), and that encoding decodes and re-encodes to
// the same bytes. (Bytes, not `==`: a NaN score never equals itself.)
import Wire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWireEnvelope(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let frame = Array(UnsafeBufferPointer(start: data, count: size))
    guard let envelope = try? Wire.decode(frame) else { return 0 }
    guard let encoded = try? Wire.encode(envelope) else { return 0 }
    guard let back = try? Wire.decode(encoded) else { fatalError("a re-encoded envelope does not decode") }
    guard let again = try? Wire.encode(back), again == encoded else { fatalError("encode(decode(encode(e))) != encode(e)") }
    return 0
}
