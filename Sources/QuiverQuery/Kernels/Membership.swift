import QuiverArrow
import QuiverBytes

/// The literal values of an `x IN (…)` list, as one hash table built once when the query is
/// planned, so a list of any length is one lookup per row rather than one comparison per value.
///
/// The values are of the operand's value type (the binder has converted them, as it would for
/// `x = value`). Equality and hashing are by content, the hash computed once, so the evaluator's
/// memo and the planner can use the node as a key without rehashing the list.
final class InSet: Hashable, @unchecked Sendable {
    /// Distinct non-null values, in first-seen order.
    let values: [Scalar]
    /// Whether the list held a NULL: a row matching nothing is then NULL, not FALSE.
    let hasNull: Bool
    private let table: any MembershipTable
    private let contentHash: Int

    /// `values` (nulls included) as a set of `type`, or nil when the kernel cannot look up
    /// that type (the caller then keeps the comparisons).
    init?(_ values: [Scalar], type: DataType, pool: MemoryPool) throws {
        var seen = Set<Scalar.Payload>()
        var distinct: [Scalar] = []
        var hasNull = false
        for value in values {
            if value.isNull { hasNull = true } else if seen.insert(value.payload).inserted { distinct.append(value) }
        }
        let valueType = ScalarArrays.valueType(type)
        switch valueType {
        case .utf8, .binary, .largeUtf8, .largeBinary:
            table = StringTable(try ScalarArrays.array(of: distinct, type: .binary, pool: pool))
        default:
            guard let kind = NumberKind(valueType) else { return nil }
            table = try kind.visit(MakeNumberTable(values: distinct))
        }
        self.values = distinct
        self.hasNull = hasNull
        var hasher = Hasher()
        hasher.combine(seen.count)
        hasher.combine(hasNull)
        for value in distinct { hasher.combine(value.payload) }
        contentHash = hasher.finalize()
    }

    static func == (a: InSet, b: InSet) -> Bool {
        a === b || (a.contentHash == b.contentHash && a.hasNull == b.hasNull && a.values == b.values)
    }

    func hash(into hasher: inout Hasher) { hasher.combine(contentHash) }

    /// `operand IN (values)` per row: TRUE on a match; else NULL when the operand is NULL or
    /// the list held a NULL; else FALSE. The operand holds plain values (no dictionary).
    func evaluate(_ operand: Datum, length: Int, pool: MemoryPool) throws -> ArrayData {
        if operand.isNullScalar { return Output.nulls(.boolean, length: length, pool: pool) }
        let data = try operand.materialize(length: length, pool: pool)
        let found = table.contains(data, pool: pool)
        var validity = Bitmaps.validity(data).map { [$0] } ?? []
        if hasNull { validity.append(BitView(found.baseAddress, offset: 0, count: length)) }
        return Output.array(.boolean, length: length, validity: Bitmaps.intersect(validity, count: length, pool: pool), [found])
    }

    private struct MakeNumberTable: NumberVisitor {
        let values: [Scalar]
        func visit<T: NumberValue>(_ type: T.Type) throws -> any MembershipTable {
            // A value that does not convert exactly to the operand's type cannot equal any row.
            let sorted = NumberTable.sortedDistinct(values.compactMap { ScalarArrays.number($0, as: T.self) })
            // The lookup is made here, where T is concrete, so its loop is specialised; a
            // method of a generic table called through the protocol would run unspecialised,
            // looking up type metadata per row.
            return NumberTable { data, pool in NumberTable.contains(data, sorted, pool: pool) }
        }
    }
}

/// One bit per row: whether the row's value is in the table (null rows: anything).
private protocol MembershipTable: Sendable {
    func contains(_ data: ArrayData, pool: MemoryPool) -> Buffer
}

private struct NumberTable: MembershipTable {
    let lookup: @Sendable (ArrayData, MemoryPool) -> Buffer

    init(_ lookup: @escaping @Sendable (ArrayData, MemoryPool) -> Buffer) { self.lookup = lookup }

    func contains(_ data: ArrayData, pool: MemoryPool) -> Buffer { lookup(data, pool) }

    /// The distinct values, ascending (NaN, which equals nothing, is left out).
    static func sortedDistinct<T: NumberValue>(_ values: [T]) -> [T] {
        Array(Set(values.filter { $0 == $0 })).sorted()
    }

    /// Up to this many values are compared one by one; longer lists are binary-searched. Both
    /// beat hashing every row with `Set`'s SipHash.
    static let linearLimit = 16

    @inline(__always)
    static func contains<T: NumberValue>(_ data: ArrayData, _ sorted: [T], pool: MemoryPool) -> Buffer {
        let column = Columns.values(data, as: T.self)
        return sorted.withUnsafeBufferPointer { values in
            let count = values.count
            if count <= linearLimit {
                return Bitmaps.build(count: data.length, pool: pool, LinearTest(column: column, values: values)).finish()
            }
            return Bitmaps.build(count: data.length, pool: pool) { row in
                let x = column[row]
                var low = 0
                var high = count
                while low < high {
                    let middle = (low + high) >> 1
                    if values[middle] < x { low = middle + 1 } else { high = middle }
                }
                return low < count && values[low] == x
            }.finish()
        }
    }

    private struct LinearTest<T: NumberValue>: RowTest {
        let column: UnsafePointer<T>
        let values: UnsafeBufferPointer<T>
        @inline(__always) func callAsFunction(_ row: Int) -> Bool {
            let x = column[row]
            var hit = false
            for index in 0..<values.count { hit = hit || values[index] == x }
            return hit
        }
    }
}

/// Strings and binaries, looked up by their bytes in place.
private struct StringTable: MembershipTable, @unchecked Sendable {
    /// Owns the bytes the keys point into.
    let storage: ArrayData
    let values: Set<ByteString>

    init(_ storage: ArrayData) {
        self.storage = storage
        let view = Columns.strings(storage, offsets: Int32.self)
        values = Set((0..<storage.length).map { view[$0] })
    }

    func contains(_ data: ArrayData, pool: MemoryPool) -> Buffer {
        if Columns.hasLargeOffsets(data.type) {
            let view = Columns.strings(data, offsets: Int64.self)
            return Bitmaps.build(count: data.length, pool: pool) { values.contains(view[$0]) }.finish()
        }
        let view = Columns.strings(data, offsets: Int32.self)
        return Bitmaps.build(count: data.length, pool: pool) { values.contains(view[$0]) }.finish()
    }
}
