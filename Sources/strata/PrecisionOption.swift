import Kernels

/// The `--precision fp32|bf16|int8` flag shared by the commands that run an encoder (default fp32).
enum PrecisionOption {
    static let help = "--precision P    fp32 (default), bf16 or int8: dense layers' weights converted when loaded"

    /// The flag's value, or a usage error naming the choices.
    static func parse(_ a: Arguments) throws -> Precision {
        guard let s = a.string("precision") else { return .fp32 }
        do { return try Precision.parse(s) } catch { throw CLIError("\(a.command): \(error)", usage: true) }
    }
}
