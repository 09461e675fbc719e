/// Errors of tokenizer loading; each names the file at fault.
public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// A required file is absent (path, what was expected).
    case missingFile(String, String)
    /// A file is unreadable or holds an invalid / unsupported setting (path, reason).
    case badFile(String, String)

    public var description: String {
        switch self {
        case let .missingFile(path, what): return "tokenizer: missing \(path) (\(what))"
        case let .badFile(path, reason): return "tokenizer: \(path): \(reason)"
        }
    }
}
