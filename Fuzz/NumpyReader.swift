// libFuzzer harness: the .npy reader (float32 [rows, cols], C order). Any bytes decode or throw a
// DataError; what decodes has non-negative dimensions matching its data and re-encodes
// to the same rows and columns.
import Foundation
import Formats

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNumpy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let m = try? NumpyFile.decode(Data(bytes: data, count: size)) else { return 0 }
    let (count, overflow) = m.rows.multipliedReportingOverflow(by: m.cols)
    if m.rows < 0 || m.cols < 0 || overflow || m.data.count != count { fatalError("decoded a \(m.rows) x \(m.cols) matrix with \(m.data.count) values") }
    guard let back = try? NumpyFile.decode(NumpyFile.encode(m)), back.rows == m.rows, back.cols == m.cols else {
        fatalError("a decoded matrix does not survive encode + decode")
    }
    return 0
}
