// libFuzzer harness: the corpus reader (`TextRecords`), as BEIR JSON lines and as plain text lines.
// Any bytes give records or a data error naming the file and line, never a crash; plain text gives
// one record per line.
import Foundation
import Formats

private let scratch = (ProcessInfo.processInfo.environment["STRATA_FUZZ_SCRATCH"] ?? "/tmp") + "/records-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTextRecords(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    for ext in ["jsonl", "txt"] {
        let path = scratch + "." + ext
        guard FileManager.default.createFile(atPath: path, contents: bytes) else { fatalError("cannot write \(path)") }
        if let records = try? TextRecords.read(path), ext == "jsonl" {
            if Set(records.map(\.id)).count != records.count { fatalError("duplicate ids accepted") }
        }
    }
    return 0
}
