import QuiverArrow
import QuiverBytes

/// Compares rows of a batch by its sort keys. Ties compare equal here; `less` breaks them
/// by row position, which makes every sort stable and so the output deterministic.
struct RowOrder {
    private let keys: [KeyComparer]

    /// `columns` are the batch's columns (dictionary columns already decoded).
    init(columns: [ArrayData], specs: [SortSpec]) throws {
        keys = try specs.map { spec in
            let column = columns[spec.column]
            let comparer: (Int, Int) -> Int
            switch column.type.storageType {
            case .boolean: comparer = valueOrder(BitsOperand(view: Columns.bits(column)))
            case .utf8, .binary: comparer = valueOrder(StringsOperand(view: Columns.strings(column, offsets: Int32.self)))
            case .largeUtf8, .largeBinary: comparer = valueOrder(StringsOperand(view: Columns.strings(column, offsets: Int64.self)))
            case .null: comparer = { _, _ in 0 }
            default:
                guard let kind = NumberKind(column.type) else { throw QuiverError(.query, "cannot sort by \(column.type)") }
                comparer = try kind.visit(MakeNumberComparer(column: column))
            }
            return KeyComparer(
                comparer: comparer, validity: Bitmaps.validity(column), isAllNull: column.type.storageType == .null,
                               descending: spec.descending, nullsFirst: spec.nullsFirst, retained: column)
        }
    }

    /// Compares rows `a` and b` by every key in turn (`keys` is `self.keys`, read in place:
    /// iterating the array would copy each comparer, a retain and a release per row pair).
    @inline(__always)
    private static func compare(_ keys: UnsafeBufferPointer<KeyComparer>, _ a: Int, _ b: Int) -> Int {
        for index in keys.indices {
            let c = keys[index].compare(a, b)
            if c != 0 { return c }
        }
        return 0
    }

    /// Strict weak order with ties broken by position.
    @inline(__always)
    private static func less(_ keys: UnsafeBufferPointer<KeyComparer>, _ a: Int32, _ b: Int32) -> Bool {
        let c = compare(keys, Int(a), Int(b))
        return c != 0 ? c < 0 : a < b
    }

    /// Strict weak order with ties broken by position.
    func less(_ a: Int32, _ b: Int32) -> Bool {
        keys.withUnsafeBufferPointer { Self.less($0, a, b) }
    }

    /// All rows in order.
    func sorted(count: Int) -> [Int32] {
        keys.withUnsafeBufferPointer { keys in (0..<Int32(count)).sorted { Self.less(keys, $0, $1) } }
    }

    /// The first `k` rows in order, keeping a heap of the best `k` seen so far
    /// (O(n log k)).
    func top(_ k: Int, count: Int) -> [Int32] {
        guard k > 0 else { return [] }
        if k >= count { return sorted(count: count) }
        return keys.withUnsafeBufferPointer { keys in
            @inline(__always) func less(_ a: Int32, _ b: Int32) -> Bool { Self.less(keys, a, b) }
            // A max-heap on `less`: the root is the worst row kept.
            var heap: [Int32] = []
            heap.reserveCapacity(k)
            for row in 0..<Int32(count) {
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
    }
}

/// Ascending order of one column's values, NaN after every number (as DuckDB and PostgreSQL
/// order); NULLs are handled by `KeyComparer`. Returned as a closure built where the operand
/// type is concrete, so the comparison inside is specialised.
private func valueOrder<O: Operand>(_ operand: O) -> (Int, Int) -> Int where O.Element: Comparable {
    return { a, b in
        let x = operand[a]
        let y = operand[b]
        if x < y { return -1 }
        if y < x { return 1 }
        if x == y { return 0 }
        // Unordered: at least one NaN.
        let xNaN = x != x
        let yNaN = y != y
        return xNaN == yNaN ? 0 : (xNaN ? 1 : -1)
    }
}

private struct MakeNumberComparer: NumberVisitor {
    let column: ArrayData
    func visit<T: NumberValue>(_: T.Type) throws -> (Int, Int) -> Int {
        valueOrder(ValuesOperand(base: Columns.values(column, as: T.self)))
    }
}

/// One sort key: direction and NULL placement around a column comparer.
private struct KeyComparer {
    let comparer: (Int, Int) -> Int
    let validity: BitView?
    let isAllNull: Bool
    let descending: Bool
    let nullsFirst: Bool
    /// Keeps the compared buffers alive.
    let retained: ArrayData

    @inline(__always)
    func compare(_ a: Int, _ b: Int) -> Int {
        let aNull = isAllNull || !(validity?[a] ?? true)
        let bNull = isAllNull || !(validity?[b] ?? true)
        if aNull || bNull {
            if aNull == bNull { return 0 }
            return aNull == nullsFirst ? -1 : 1
        }
        let c = comparer(a, b)
        return descending ? -c : c
    }
}
