/// Hugging Face `tokenizers` truncation rules (TruncationStrategy::LongestFirst, direction right, stride 0).
enum Truncation {
    /// Lengths to keep for a pair of sequences of lengths `n1` (first) and `n2` (second) so that
    /// together they fit `budget` tokens (the max length minus the 3 special tokens).
    ///
    /// Same arithmetic as `tokenizers`' `truncate_encodings`: if only the longer one needs cutting it
    /// is cut to `budget - shorter`; otherwise both get half, the longer one (the second on a tie)
    /// getting the odd token.
    static func longestFirst(_ n1: Int, _ n2: Int, budget: Int) -> (Int, Int) {
        if n1 + n2 <= budget { return (n1, n2) }
        let budget = max(0, budget)
        var short = n1, long = n2
        let swapped = n1 > n2
        if swapped { swap(&short, &long) }
        if short > budget {
            long = short
        } else {
            long = max(short, budget - short)
        }
        if short + long > budget {
            short = budget / 2
            long = short + budget % 2
        }
        return swapped ? (long, short) : (short, long)
    }
}
