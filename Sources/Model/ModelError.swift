import Foundation

/// Errors from loading or running a model. Each names the file and, where relevant, the tensor.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case fileMissing(String)
    case corruptFile(file: String, reason: String)
    case missingTensor(file: String, tensor: String)
    case wrongShape(file: String, tensor: String, expected: [Int], got: [Int])
    case unsupportedDType(file: String, tensor: String, dtype: String)
    case badConfig(file: String, reason: String)
    case unknownModel(String)
    case invalidInput(String)

    public var description: String {
        switch self {
        case .fileMissing(let f): return "missing model file: \(f)"
        case .corruptFile(let f, let r): return "corrupt or truncated file \(f): \(r)"
        case .missingTensor(let f, let t): return "tensor '\(t)' not found in \(f)"
        case .wrongShape(let f, let t, let e, let g): return "tensor '\(t)' in \(f) has shape \(g), expected \(e)"
        case .unsupportedDType(let f, let t, let d): return "tensor '\(t)' in \(f) has unsupported dtype \(d) (F32, F16, BF16 are read)"
        case .badConfig(let f, let r): return "bad config \(f): \(r)"
        case .unknownModel(let m): return "unknown model '\(m)': not a model directory, and not found in $STRATA_MODELS or the Hugging Face cache"
        case .invalidInput(let r): return r
        }
    }
}
