import QuiverArrow
import QuiverBytes

/// Compares rows of a batch by its sort keys. Ties compare equal here; `less` breaks them
/// by row position, which makes every sort stable and so the output deterministic.
struct RowOrder {
    private let keys: [KeyComparer]
    /// Keeps the compared buffers alive (the comparers hold bare pointers into them).
    private let retained: [ArrayData]
    /// Every key's rows as order words (see `OrderWords`), one stretch per key that has them.
    private let words: [UInt64]
    /// Per key, where its stretch of `words` starts and whether equal words mean equal keys.
    private let keyWords: [KeyWords]

    private struct KeyWords {
        /// -1: the key has no words (it is compared by its comparer alone).
        let start: Int
        let exact: Bool
    }

    /// `columns` are the batch's columns (dictionary columns already decoded).
    init(columns: [ArrayData], specs: [SortSpec]) throws {
        var words: [UInt64] = []
        keyWords = specs.map { spec in
            guard let keyed = OrderWords(columns[spec.column], spec) else { return KeyWords(start: -1, exact: false) }
            defer { words += keyed.words }
            return KeyWords(start: words.count, exact: keyed.exact)
        }
        self.words = words
        retained = specs.map { columns[$0.column] }
        keys = try specs.map { spec in
            let column = columns[spec.column]
            let values: KeyValues
            switch column.type.storageType {
            case .boolean: values = .bits(Columns.bits(column))
            case .utf8, .binary: values = .strings32(Columns.strings(column, offsets: Int32.self))
            case .largeUtf8, .largeBinary: values = .strings64(Columns.strings(column, offsets: Int64.self))
            case .null: values = .allNull
            default:
                guard let kind = NumberKind(column.type) else { throw QuiverError(.query, "cannot sort by \(column.type)") }
                values = .numbers(try kind.visit(MakeNumberComparer(column: column)))
            }
            return KeyComparer(
                values: values, validity: Bitmaps.validity(column), isAllNull: column.type.storageType == .null,
                descending: spec.descending, nullsFirst: spec.nullsFirst)
        }
    }

    /// The comparers, words and word layout, read in place: reading a comparer out of the
    /// array copies it (a retain and a release of each of its references per row pair).
    private struct Keys {
        let comparers: UnsafeBufferPointer<KeyComparer>
        let words: UnsafeBufferPointer<UInt64>
        let keyWords: UnsafeBufferPointer<KeyWords>
    }

    /// Strict weak order with ties broken by position: key by key, by the key's words where
    /// they differ (or are exact), else by its comparer.
    @inline(__always)
    private static func less(_ keys: Keys, _ a: Int32, _ b: Int32) -> Bool {
        for index in 0..<keys.keyWords.count {
            let layout = keys.keyWords[index]
            if layout.start >= 0 {
                let x = keys.words[layout.start + Int(a)]
                let y = keys.words[layout.start + Int(b)]
                if x != y { return x < y }
                if layout.exact { continue }
            }
            let c = keys.comparers[index].compare(Int(a), Int(b))
            if c != 0 { return c < 0 }
        }
        return a < b
    }

    /// Runs `body` with the keys read in place.
    private func withKeys<Result>(_ body: (Keys) -> Result) -> Result {
        keys.withUnsafeBufferPointer { comparers in
            words.withUnsafeBufferPointer { words in
                keyWords.withUnsafeBufferPointer { body(Keys(comparers: comparers, words: words, keyWords: $0)) }
            }
        }
    }

    /// Strict weak order with ties broken by position.
    func less(_ a: Int32, _ b: Int32) -> Bool {
        withKeys { Self.less($0, a, b) }
    }

    /// All rows in order.
    func sorted(count: Int) -> [Int32] {
        withKeys { keys in (0..<Int32(count)).sorted { Self.less(keys, $0, $1) } }
    }

    /// The first `k` rows in order: for a small `k` a heap of the best `k` seen so far
    /// (O(n log k)); from `bufferedTopLimit` on, a buffer (see `bufferedTop`).
    func top(_ k: Int, count: Int) -> [Int32] {
        guard k > 0 else { return [] }
        if k >= count { return sorted(count: count) }
        return withKeys { keys in
            k < Self.bufferedTopLimit ? Self.heapTop(keys, k, count: count) : Self.bufferedTop(keys, k, count: count)
        }
    }

    /// The smallest `k` for which `top` collects rows in a buffer rather than a heap: a row
    /// that enters a heap of `k` costs about 2·log2(k) comparisons.
    static let bufferedTopLimit = 64

    private static func heapTop(_ keys: Keys, _ k: Int, count: Int) -> [Int32] {
        @inline(__always) func less(_ a: Int32, _ b: Int32) -> Bool { Self.less(keys, a, b) }
        // A max-heap on `less`: the root is the worst row kept.
        var heap: [Int32] = []
        heap.reserveCapacity(k)
        // A row whose first key's word is above the root's sorts after it whatever the
        // other keys say: most rows of a large input are turned away by that one compare.
        let firstWords = keys.keyWords.first.map { $0.start } ?? -1
        var rootWord = UInt64.max
        for row in 0..<Int32(count) {
            if firstWords >= 0 && heap.count == k && keys.words[firstWords + Int(row)] > rootWord { continue }
            defer { if firstWords >= 0 && heap.count == k { rootWord = keys.words[firstWords + Int(heap[0])] } }
            if heap.count < k {
                heap.append(row)
                var child = heap.count - 1
                while child > 0 {
                    let parent = (child - 1) / 2
                    guard less(heap[parent], heap[child]) else { break }
                    heap.swapAt(parent, child)
                    child = parent
                }
            } else if less(row, heap[0]) {
                heap[0] = row
                var parent = 0
                while true {
                    let left = 2 * parent + 1
                    let right = left + 1
                    var largest = parent
                    if left < k && less(heap[largest], heap[left]) { largest = left }
                    if right < k && less(heap[largest], heap[right]) { largest = right }
                    if largest == parent { break }
                    heap.swapAt(parent, largest)
                    parent = largest
                }
            }
        }
        return heap.sorted(by: less)
    }

    /// The first `k` rows for a large `k`: rows that sort before the bar (the k-th best kept
    /// so far; none at first) collect in a buffer of 2k rows; a full buffer keeps its best k
    /// (`select`, O(k) comparisons expected) and the k-th of them becomes the bar. O(n)
    /// comparisons expected where a heap takes O(n log k); rows whose first word is above the
    /// bar's are turned away by one compare, as in the heap.
    private static func bufferedTop(_ keys: Keys, _ k: Int, count: Int) -> [Int32] {
        var buffer: [Int32] = []
        buffer.reserveCapacity(2 * k)
        let firstWords = keys.keyWords.first.map { $0.start } ?? -1
        var bar: Int32 = -1
        var barWord = UInt64.max
        for row in 0..<Int32(count) {
            if bar >= 0 {
                if firstWords >= 0 && keys.words[firstWords + Int(row)] > barWord { continue }
                guard less(keys, row, bar) else { continue }
            }
            buffer.append(row)
            if buffer.count == 2 * k {
                buffer.withUnsafeMutableBufferPointer { select(keys, $0, nth: k - 1) }
                buffer.removeLast(k)
                bar = buffer[k - 1]
                if firstWords >= 0 { barWord = keys.words[firstWords + Int(bar)] }
            }
        }
        buffer.sort { less(keys, $0, $1) }
        return Array(buffer.prefix(k))
    }

    /// Rearranges `rows` so that `rows[nth]` is the row a full sort would put there, with the
    /// rows that sort before it ahead of it and the others after: quickselect around a median
    /// of three. After 2·log2(n) rounds without finishing, the part left is sorted instead, so
    /// an adversarial order costs O(n log n), never O(n²). (`less` is a total order: no two
    /// rows tie.)
    private static func select(_ keys: Keys, _ rows: UnsafeMutableBufferPointer<Int32>, nth: Int) {
        var (low, high) = (0, rows.count - 1)
        var rounds = 2 * (Int.bitWidth - rows.count.leadingZeroBitCount)
        while low < high {
            guard rounds > 0 else {
                var rest = UnsafeMutableBufferPointer(rebasing: rows[low...high])
                rest.sort { less(keys, $0, $1) }
                return
            }
            rounds -= 1
            // The median of the first, middle and last rows goes last, as the pivot.
            let middle = low + (high - low) / 2
            if less(keys, rows[middle], rows[low]) { rows.swapAt(middle, low) }
            if less(keys, rows[high], rows[low]) { rows.swapAt(high, low) }
            if less(keys, rows[middle], rows[high]) { rows.swapAt(middle, high) }
            let pivot = rows[high]
            var store = low
            for index in low..<high where less(keys, rows[index], pivot) {
                rows.swapAt(index, store)
                store += 1
            }
            rows.swapAt(store, high)
            if store == nth { return }
            if store < nth { low = store + 1 } else { high = store - 1 }
        }
    }
}

/// A sort key's values as unsigned words whose order agrees with the key's: if row a's word
/// is below row b's, a sorts first (direction and NULL placement applied). Equal words decide
/// nothing — values that differ may share a word (64-bit integers beyond 2^53 round to one
/// double, strings share their first 8 bytes, a NULL's word may equal a value's) — so ties go
/// to the comparers.
/// - Integers of up to 64 bits map to their value shifted into unsigned order: exact, unless
///   a value's word is 0 or all ones, which a NULL's word may equal.
/// - Other numbers map through `Double`, which never reverses an order (x ≤ y ⇒ Double(x) ≤
///   Double(y)), then to the words of the IEEE order: -0 as 0, every NaN after +∞. The words
///   are exact (equal words, equal keys) for floats and for integers within ±2^53, which
///   convert without rounding; a NULL's word (0 or all ones) is no number's.
/// - Strings and binaries map to their first 8 bytes, big-endian, padded with zeros: bytes
///   compare as `memcmp` does, and a shorter string's padding never exceeds a longer one's bytes.
private struct OrderWords {
    let words: [UInt64]
    /// Whether rows with equal words have equal keys.
    let exact: Bool

    init?(_ column: ArrayData, _ spec: SortSpec) {
        var words: [UInt64]
        switch column.type.storageType {
        case .utf8, .binary:
            words = Self.prefixes(Columns.strings(column, offsets: Int32.self), count: column.length)
            exact = false
        case .largeUtf8, .largeBinary:
            words = Self.prefixes(Columns.strings(column, offsets: Int64.self), count: column.length)
            exact = false
        default:
            guard let kind = NumberKind(column.type), let numbers = try? kind.visit(MakeOrderWords(column: column))
            else { return nil }
            (words, exact) = numbers
        }
        if spec.descending {
            for row in words.indices { words[row] = ~words[row] }
        }
        if let validity = Bitmaps.validity(column) {
            let nullWord: UInt64 = spec.nullsFirst ? 0 : ~0
            for row in 0..<column.length where !validity[row] { words[row] = nullWord }
        }
        self.words = words
    }

    private static func prefixes<O: FixedWidthInteger>(_ strings: StringsView<O>, count: Int) -> [UInt64] {
        [UInt64](unsafeUninitializedCapacity: count) { out, initialized in
            for row in 0..<count {
                let value = strings[row]
                var word: UInt64 = 0
                if value.count >= 8 {
                    word = UInt64(bigEndian: value.start.loadUnaligned(as: UInt64.self))
                } else {
                    for index in 0..<value.count {
                        word |= UInt64(value.start.load(fromByteOffset: index, as: UInt8.self)) << (56 - 8 * UInt64(index))
                    }
                }
                out[row] = word
            }
            initialized = count
        }
    }

    @inline(__always)
    static func word(_ value: Double) -> UInt64 {
        if value.isNaN { return 0xFFF8_0000_0000_0000 }
        let bits = (value == 0 ? 0.0 : value).bitPattern
        return bits & (1 << 63) != 0 ? ~bits : bits | (1 << 63)
    }
}

private struct MakeOrderWords: NumberVisitor {
    let column: ArrayData

    func visit<T: NumberValue>(_: T.Type) throws -> (words: [UInt64], exact: Bool) {
        let values = Columns.values(column, as: T.self)
        if T.isInteger && MemoryLayout<T>.size <= 8 {
            // Integers of up to 64 bits map exactly, shifted into unsigned order (UInt64 as it
            // is), without a conversion to Double.
            let bias: Int128 = T.self == UInt64.self ? 0 : 1 << 63
            var extreme = false
            let words = [UInt64](unsafeUninitializedCapacity: column.length) { out, count in
                for row in 0..<column.length {
                    let word = UInt64(truncatingIfNeeded: values[row].int128Value &+ bias)
                    extreme = extreme || word == 0 || word == ~0
                    out[row] = word
                }
                count = column.length
            }
            // A word of 0 or all ones may equal a NULL's: then equal words decide nothing.
            return (words, !extreme)
        }
        var largest = 0.0
        let words = [UInt64](unsafeUninitializedCapacity: column.length) { out, count in
            for row in 0..<column.length {
                let value = values[row].doubleValue
                largest = Swift.max(largest, Swift.abs(value))
                out[row] = OrderWords.word(value)
            }
            count = column.length
        }
        return (words, !T.isInteger || largest <= 9_007_199_254_740_992)
    }
}

/// Ascending order of two values, NaN after every number (as DuckDB and PostgreSQL order).
@inline(__always)
private func order<T: Comparable>(_ x: T, _ y: T) -> Int {
    if x < y { return -1 }
    if y < x { return 1 }
    if x == y { return 0 }
    // Unordered: at least one NaN.
    let xNaN = x != x
    let yNaN = y != y
    return xNaN == yNaN ? 0 : (xNaN ? 1 : -1)
}

/// Ascending order of one column's values; NULLs are handled by `KeyComparer`. Returned as a
/// closure built where the operand type is concrete, so the comparison inside is specialised.
private func valueOrder<O: Operand>(_ operand: O) -> (Int, Int) -> Int where O.Element: Comparable {
    return { a, b in order(operand[a], operand[b]) }
}

private struct MakeNumberComparer: NumberVisitor {
    let column: ArrayData
    func visit<T: NumberValue>(_: T.Type) throws -> (Int, Int) -> Int {
        valueOrder(ValuesOperand(base: Columns.values(column, as: T.self)))
    }
}

/// A sort key's values, as compared when their order words tie. Strings and booleans are
/// bare views, so the comparer holding them copies without a retain: a top-k over strings
/// that share their first 8 bytes compares through here for most row pairs. Numbers (only
/// integers beyond 2^53 get here) go through a specialised closure.
private enum KeyValues {
    case strings32(StringsView<Int32>)
    case strings64(StringsView<Int64>)
    case bits(BitView)
    case numbers((Int, Int) -> Int)
    case allNull

    @inline(__always)
    func compare(_ a: Int, _ b: Int) -> Int {
        switch self {
        case .strings32(let view): return order(view[a], view[b])
        case .strings64(let view): return order(view[a], view[b])
        case .bits(let view): return order(view[a] ? 1 : 0, view[b] ? 1 : 0)
        case .numbers(let comparer): return comparer(a, b)
        case .allNull: return 0
        }
    }
}

/// One sort key: direction and NULL placement around its values' order.
private struct KeyComparer {
    let values: KeyValues
    let validity: BitView?
    let isAllNull: Bool
    let descending: Bool
    let nullsFirst: Bool

    @inline(__always)
    func compare(_ a: Int, _ b: Int) -> Int {
        let aNull = isAllNull || !(validity?[a] ?? true)
        let bNull = isAllNull || !(validity?[b] ?? true)
        if aNull || bNull {
            if aNull == bNull { return 0 }
            return aNull == nullsFirst ? -1 : 1
        }
        let c = values.compare(a, b)
        return descending ? -c : c
    }
}
