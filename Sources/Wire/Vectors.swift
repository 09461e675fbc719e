/// A row-major float32 block [rows, dimension]; travels as little-endian bytes (the proto's `rows`,
/// `dimension` and `vectors` fields, joined into one value by scripts/gen-proto).
public struct Vectors: Equatable, Sendable {
    /// Number of vectors.
    public var rows: Int
    /// Length of each vector.
    public var dimension: Int
    /// The values, [rows, dimension] row-major.
    public var data: [Float]

    public init(rows: Int, dimension: Int, data: [Float]) {
        precondition(data.count == rows * dimension, "Vectors: \(data.count) values for [\(rows), \(dimension)]")
        self.rows = rows
        self.dimension = dimension
        self.data = data
    }
}
