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
            NumberTable<T>(values: Set(values.compactMap { ScalarArrays.number($0, as: T.self) }))
        }
    }
}

/// One bit per row: whether the row's value is in the table (null rows: anything).
private protocol MembershipTable: Sendable {
    func contains(_ data: ArrayData, pool: MemoryPool) -> Buffer
}

private struct NumberTable<T: NumberValue>: MembershipTable {
    let values: Set<T>

    func contains(_ data: ArrayData, pool: MemoryPool) -> Buffer {
        let column = ValuesOperand(base: Columns.values(data, as: T.self))
        return Bitmaps.build(count: data.length, pool: pool) { values.contains(column[$0]) }.finish()
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
