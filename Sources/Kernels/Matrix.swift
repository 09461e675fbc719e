/// A dense row-major float32 matrix: `data[r * cols + c]`, shape [rows, cols].
public struct Matrix: Equatable, Sendable {
    public var rows: Int
    public var cols: Int
    public var data: [Float]

    /// A zero-filled [rows, cols] matrix.
    public init(rows: Int, cols: Int) {
        self.rows = rows; self.cols = cols
        data = [Float](repeating: 0, count: rows * cols)
    }

    /// Wraps `data` (count must be rows * cols).
    public init(rows: Int, cols: Int, data: [Float]) {
        precondition(data.count == rows * cols, "Matrix: \(data.count) values for shape [\(rows), \(cols)]")
        self.rows = rows; self.cols = cols; self.data = data
    }

    /// Row `r` as a new array.
    public func row(_ r: Int) -> [Float] { Array(data[(r * cols)..<((r + 1) * cols)]) }
}
