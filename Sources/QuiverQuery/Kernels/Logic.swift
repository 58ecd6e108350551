import QuiverArrow
import QuiverBytes

/// SQL three-valued logic on boolean data, 64 rows per step.
///
/// Each operand is read as two words per 64 rows: "is TRUE" (valid and set) and "is FALSE"
/// (valid and clear). `a AND b` is TRUE where both are TRUE and FALSE where either is FALSE;
/// `a OR b` the dual; everything else is NULL.
enum Logic {
    /// Reads "is TRUE" / "is FALSE" words of a boolean datum (also CASE's conditions).
    struct Truth {
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

    /// The AND of any number of boolean datums in one pass: TRUE where all are TRUE, FALSE
    /// where any is FALSE.
    static func all(_ operands: [Datum], length: Int, pool: MemoryPool) -> ArrayData {
        let truths = operands.map(Truth.init)
        return truthArray(length: length, pool: pool) { word in
            var isTrue = UInt64.max
            var isFalse: UInt64 = 0
            for truth in truths {
                let words = truth.words(word)
                isTrue &= words.isTrue
                isFalse |= words.isFalse
            }
            return (isTrue, isFalse)
        }
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
        return truthArray(length: length, pool: pool) { rule(left.words($0), right.words($0)) }
    }

    /// A boolean array from each word's "is TRUE" and "is FALSE" bits (neither: NULL).
    private static func truthArray(
        length: Int, pool: MemoryPool, _ truth: (Int) -> (isTrue: UInt64, isFalse: UInt64)
    ) -> ArrayData {
        let values = BitmapWriter(count: length, pool: pool)
        let validity = BitmapWriter(count: length, pool: pool)
        for word in 0..<values.wordCount {
            let (isTrue, isFalse) = truth(word)
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

}

/// The rows a filter keeps — TRUE, never NULL or FALSE — as a bitmap over the batch.
///
/// Kept as bits rather than row numbers: counting them is a popcount, aggregations read them
/// 64 rows per word, and only gathers (`rows()`) pay for a list of positions.
struct Selection {
    /// The kept rows' bits; nil when every row is kept.
    let bits: BitView?
    /// How many rows are kept.
    let count: Int
    /// The rows in the batch.
    let length: Int
    /// Keeps the bitmap `bits` views alive.
    private let storage: Buffer?

    /// The TRUE rows of `predicate` (a boolean datum over `length` rows). Views the
    /// predicate's values when it has no NULLs; else ANDs values and validity into a new
    /// bitmap from `pool`.
    init(_ predicate: Datum, length: Int, pool: MemoryPool) {
        self.length = length
        switch predicate {
        case .scalar(let scalar):
            let all: Bool
            if case .bool(true) = scalar.payload { all = true } else { all = false }
            count = all ? length : 0
            storage = nil
            bits = all ? nil : BitView(Buffer.empty.baseAddress, offset: 0, count: 0)
        case .array(let data):
            let values = Columns.bits(data)
            var view = values
            var storage: Buffer? = data.buffers[1]
            if let validity = Bitmaps.validity(data) {
                let writer = BitmapWriter(count: length, pool: pool)
                for word in 0..<writer.wordCount { writer.set(word: word, values.word(word) & validity.word(word)) }
                let buffer = writer.finish()
                view = BitView(buffer.baseAddress, offset: 0, count: length)
                storage = buffer
            }
            var kept = 0
            for word in 0..<view.wordCount { kept += view.word(word).nonzeroBitCount }
            count = kept
            self.storage = kept == length ? nil : storage
            bits = kept == length ? nil : view
        }
    }

    /// Whether every row is kept.
    var isAll: Bool { count == length }

    /// The kept rows' positions, ascending (one exact allocation).
    func rows() -> [Int32] {
        guard let bits else { return (0..<Int32(length)).map { $0 } }
        guard count > 0 else { return [] }
        return [Int32](unsafeUninitializedCapacity: count) { out, initialized in
            var next = 0
            for word in 0..<bits.wordCount {
                var word64 = bits.word(word)
                let base = Int32(word << 6)
                while word64 != 0 {
                    out[next] = base + Int32(word64.trailingZeroBitCount)
                    next += 1
                    word64 &= word64 - 1
                }
            }
            initialized = next
        }
    }
}

/// Calls `body` with each row set in both `a` and `b` (nil: all set), ascending, for rows
/// `0..<count`: runs of 64 set rows go through a plain loop, the rest bit by bit.
@inline(__always)
func forEachSetRow(_ a: BitView?, _ b: BitView?, count: Int, _ body: (Int) -> Void) {
    if a == nil && b == nil {
        for row in 0..<count { body(row) }
        return
    }
    for word in 0..<((count + 63) >> 6) {
        // A view's word has no bits past `count`, so `.max` only happens for whole words.
        var bits = (a?.word(word) ?? .max) & (b?.word(word) ?? .max)
        let base = word << 6
        if bits == .max {
            for lane in 0..<64 { body(base + lane) }
            continue
        }
        while bits != 0 {
            body(base + bits.trailingZeroBitCount)
            bits &= bits - 1
        }
    }
}
