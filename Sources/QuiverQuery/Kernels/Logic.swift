import QuiverArrow
import QuiverBytes

/// SQL three-valued logic on boolean data, 64 rows per step.
///
/// Each operand is read as two words per 64 rows: "is TRUE" (valid and set) and "is FALSE"
/// (valid and clear). `a AND b` is TRUE where both are TRUE and FALSE where either is FALSE;
/// `a OR b` the dual; everything else is NULL.
enum Logic {
    /// Reads "is TRUE" / "is FALSE" words of a boolean datum.
    private struct Truth {
        let values: BitView?
        let validity: BitView?
        let constant: Bool?   // for scalars: nil = NULL
        let isScalar: Bool

        init(_ datum: Datum) {
            switch datum {
            case .array(let data):
                values = Columns.bits(data)
                validity = Bitmaps.validity(data)
                constant = nil
                isScalar = false
            case .scalar(let scalar):
                values = nil
                validity = nil
                if case .bool(let b) = scalar.payload { constant = b } else { constant = nil }
                isScalar = true
            }
        }

        @inline(__always)
        func words(_ index: Int) -> (isTrue: UInt64, isFalse: UInt64) {
            if isScalar {
                guard let constant else { return (0, 0) }
                return constant ? (.max, 0) : (0, .max)
            }
            let value = values?.word(index) ?? 0
            let valid = validity?.word(index) ?? .max
            return (value & valid, ~value & valid)
        }
    }

    static func and(_ a: Datum, _ b: Datum, length: Int, pool: MemoryPool) -> ArrayData {
        combine(a, b, length: length, pool: pool) { x, y in (x.isTrue & y.isTrue, x.isFalse | y.isFalse) }
    }

    static func or(_ a: Datum, _ b: Datum, length: Int, pool: MemoryPool) -> ArrayData {
        combine(a, b, length: length, pool: pool) { x, y in (x.isTrue | y.isTrue, x.isFalse & y.isFalse) }
    }

    static func not(_ a: Datum, length: Int, pool: MemoryPool) -> ArrayData {
        combine(a, a, length: length, pool: pool) { x, _ in (x.isFalse, x.isTrue) }
    }

    private static func combine(
        _ a: Datum, _ b: Datum, length: Int, pool: MemoryPool,
        _ rule: ((isTrue: UInt64, isFalse: UInt64), (isTrue: UInt64, isFalse: UInt64)) -> (UInt64, UInt64)
    ) -> ArrayData {
        let left = Truth(a)
        let right = Truth(b)
        let values = BitmapWriter(count: length, pool: pool)
        let validity = BitmapWriter(count: length, pool: pool)
        for word in 0..<values.wordCount {
            let (isTrue, isFalse) = rule(left.words(word), right.words(word))
            values.set(word: word, isTrue)
            validity.set(word: word, isTrue | isFalse)
        }
        let nulls = length - validity.popCount()
        return Output.array(.boolean, length: length, validity: nulls > 0 ? (validity.finish(), nulls) : nil, [values.finish()])
    }

    /// `x IS NULL` (or `IS NOT NULL` when `negated`): never NULL itself.
    static func isNull(_ input: Datum, negated: Bool, length: Int, pool: MemoryPool) -> ArrayData {
        let values = BitmapWriter(count: length, pool: pool)
        switch input {
        case .scalar(let scalar):
            let word: UInt64 = scalar.isNull != negated ? .max : 0
            for index in 0..<values.wordCount { values.set(word: index, word) }
        case .array(let data):
            let validity = Bitmaps.validity(data)
            for index in 0..<values.wordCount {
                let valid = validity?.word(index) ?? .max
                values.set(word: index, negated ? valid : ~valid)
            }
        }
        return Output.array(.boolean, length: length, validity: nil, [values.finish()])
    }

    /// The rows a filter keeps: TRUE (valid and set), never NULL or FALSE.
    static func selection(_ predicate: Datum, length: Int) -> [Int32] {
        switch predicate {
        case .scalar(let scalar):
            if case .bool(true) = scalar.payload { return (0..<Int32(length)).map { $0 } }
            return []
        case .array:
            let truth = Truth(predicate)
            var rows: [Int32] = []
            rows.reserveCapacity(length / 4)
            for word in 0..<((length + 63) >> 6) {
                var bits = truth.words(word).isTrue
                let base = Int32(word << 6)
                while bits != 0 {
                    rows.append(base + Int32(bits.trailingZeroBitCount))
                    bits &= bits - 1
                }
            }
            return rows
        }
    }
}
