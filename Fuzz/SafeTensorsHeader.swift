// libFuzzer harness: the safetensors header (8-byte length, JSON header, tensor table). Any file
// maps and validates or throws a corrupt-file error; every accepted tensor lies inside the file.
import Foundation
import Model

private let scratch = (ProcessInfo.processInfo.environment["STRATA_FUZZ_SCRATCH"] ?? "/tmp") + "/st-\(getpid()).safetensors"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: scratch, contents: Data(bytes: data, count: size)) else { fatalError("cannot write \(scratch)") }
    guard let file = try? SafeTensorsFile(path: scratch) else { return 0 }
    for (name, e) in file.entries where e.begin < 0 || e.end < e.begin || e.end > size {
        fatalError("tensor \(name) at \(e.begin)..<\(e.end) outside a \(size)-byte file")
    }
    return 0
}
