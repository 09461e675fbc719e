import Kernels

/// The `--precision fp32|bf16|int8` flag shared by the commands that run an encoder (default fp32;
/// declared with `CommonFlags.precision`, which already refused any other word).
enum PrecisionOption {
    /// The flag's value.
    static func parse(_ a: Arguments) throws -> Precision {
        do { return try Precision.parse(a.value("precision")) } catch { throw CLIError("\(error)", usage: true) }
    }
}
