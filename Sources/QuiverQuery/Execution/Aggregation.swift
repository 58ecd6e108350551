import QuiverArrow
import QuiverBytes

/// The state of a hash aggregation: the distinct group keys seen so far and, per aggregate,
/// one accumulator slot per group.
///
/// Each batch (morsel) builds its own partial state; partials merge into the running total
/// in batch order, so groups come out in order of first appearance and floating-point sums
/// add up the same way on every run and at every parallelism.
final class AggregationState {
    private let calls: [AggregateCall]
    private let keyTypes: [DataType]
    /// nil without GROUP BY: then there is exactly one group, even over no rows.
    private let keys: KeyTable?
    private let accumulators: [any Accumulator]
    private let pool: MemoryPool

    init(calls: [AggregateCall], keyTypes: [DataType], pool: MemoryPool) throws {
        self.calls = calls
        self.keyTypes = keyTypes
        self.pool = pool
        keys = keyTypes.isEmpty ? nil : KeyTable()
        accumulators = try calls.map { try makeAccumulator($0, pool: pool) }
    }

    var groupCount: Int { keys?.count ?? 1 }

    /// Adds one batch: `keyColumns` (evaluated group keys) and `inputs` (evaluated
    /// arguments, nil for count(*)), all `rowCount` rows long.
    func update(keyColumns: [ArrayData], inputs: [ArrayData?], rowCount: Int) throws {
        var groups: [Int32]? = nil
        if let keys {
            var ids = [Int32](repeating: 0, count: rowCount)
            let encoder = try KeyEncoder(keyColumns, rowCount: rowCount, pool: pool)
            encoder.forEachKey { row, key, hash in ids[row] = keys.intern(key, hash: hash) }
            groups = ids
        }
        for (accumulator, input) in zip(accumulators, inputs) {
            try accumulator.update(input, groups: groups, groupCount: groupCount, rowCount: rowCount)
        }
    }

    /// Folds `other` (a later batch's partial) into this state.
    func merge(_ other: AggregationState) throws {
        var map: [Int32] = [0]
        if let keys, let otherKeys = other.keys {
            map = (0..<otherKeys.count).map { id in
                otherKeys.withKey(id) { keys.intern($0, hash: otherKeys.hash(of: id)) }
            }
        }
        for (mine, theirs) in zip(accumulators, other.accumulators) {
            try mine.merge(theirs, map: map, groupCount: groupCount)
        }
    }

    /// The group keys (as their value types) followed by one array per aggregate.
    func finish() throws -> [ArrayData] {
        let keyArrays = try keys.map { try KeyDecoder.decode($0, types: keyTypes, pool: pool) } ?? []
        return try keyArrays + accumulators.map { try $0.finish(groupCount: groupCount, pool: pool) }
    }
}

/// Per-group running values of one aggregate function.
protocol Accumulator: AnyObject {
    /// Folds in `rowCount` rows; `groups[row]` is each row's group (nil: all in group 0).
    func update(_ input: ArrayData?, groups: [Int32]?, groupCount: Int, rowCount: Int) throws
    /// Folds in another accumulator of the same kind; its group g is group `map[g]` here.
    func merge(_ other: any Accumulator, map: [Int32], groupCount: Int) throws
    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData
}

private func makeAccumulator(_ call: AggregateCall, pool: MemoryPool) throws -> any Accumulator {
    let valueType = call.argument.map { ScalarArrays.valueType($0.type) } ?? .int64
    switch call.function {
    case .countStar: return CountAccumulator(countsNulls: true)
    case .count: return CountAccumulator(countsNulls: false)
    case .countDistinct: return DistinctAccumulator(pool: pool)
    case .sum, .avg:
        guard let kind = NumberKind(valueType) else { return CountAccumulator(countsNulls: false, allNull: call.type) }
        return try kind.visit(MakeSum(call: call, scale: Cast.decimalScale(valueType)))
    case .min, .max:
        switch TypeRules.family(valueType) {
        case .string, .binary: return BytesMinMax(isMax: call.function == .max, type: call.type)
        case .null: return CountAccumulator(countsNulls: false, allNull: call.type)
        default:
            guard let kind = NumberKind(valueType) else {
                throw QuiverError(.query, "\(call.function.rawValue) does not support \(valueType)")
            }
            return try kind.visit(MakeMinMax(isMax: call.function == .max, type: call.type))
        }
    }
}

private struct MakeSum: NumberVisitor {
    let call: AggregateCall
    let scale: Int
    func visit<T: NumberValue>(_: T.Type) throws -> any Accumulator {
        if T.isInteger { return SumAccumulator<T, Int128>(call: call, scale: scale) }
        return SumAccumulator<T, Double>(call: call, scale: scale)
    }
}

private struct MakeMinMax: NumberVisitor {
    let isMax: Bool
    let type: DataType
    func visit<T: NumberValue>(_: T.Type) throws -> any Accumulator { MinMaxAccumulator<T>(isMax: isMax, type: type) }
}

/// Grows per-group arrays to `count` slots.
private func grow<T>(_ array: inout [T], to count: Int, with value: T) {
    if array.count < count { array.append(contentsOf: repeatElement(value, count: count - array.count)) }
}

/// Calls `body(row, group)` for each valid row (all rows when `input` is nil or has no nulls).
@inline(__always)
private func forEachValidRow(_ input: ArrayData?, _ groups: [Int32]?, _ rowCount: Int, _ body: (Int, Int) -> Void) {
    let validity = input.flatMap { Bitmaps.validity($0) }
    switch (groups, validity) {
    case (nil, nil): for row in 0..<rowCount { body(row, 0) }
    case (nil, let valid?): for row in 0..<rowCount where valid[row] { body(row, 0) }
    case (let groups?, nil): for row in 0..<rowCount { body(row, Int(groups[row])) }
    case (let groups?, let valid?): for row in 0..<rowCount where valid[row] { body(row, Int(groups[row])) }
    }
}

/// count(*) and count(x); also stands in for aggregates over an all-NULL literal argument
/// (`allNull`: then it finishes as NULLs of that type).
private final class CountAccumulator: Accumulator {
    let countsNulls: Bool
    let allNull: DataType?
    var counts: [Int64] = []

    init(countsNulls: Bool, allNull: DataType? = nil) {
        self.countsNulls = countsNulls
        self.allNull = allNull
    }

    func update(_ input: ArrayData?, groups: [Int32]?, groupCount: Int, rowCount: Int) throws {
        grow(&counts, to: groupCount, with: 0)
        if groups == nil && (countsNulls || input.map { Bitmaps.validity($0) == nil } ?? true) {
            counts[0] += Int64(countsNulls ? rowCount : rowCount - (input?.nullCount ?? 0))
            return
        }
        counts.withUnsafeMutableBufferPointer { counts in
            forEachValidRow(countsNulls ? nil : input, groups, rowCount) { _, group in counts[group] += 1 }
        }
    }

    func merge(_ other: any Accumulator, map: [Int32], groupCount: Int) throws {
        guard let other = other as? CountAccumulator else { return }
        grow(&counts, to: groupCount, with: 0)
        for (group, count) in other.counts.enumerated() { counts[Int(map[group])] += count }
    }

    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        if let allNull { return Output.nulls(allNull, length: groupCount, pool: pool) }
        grow(&counts, to: groupCount, with: 0)
        let values = Output.fixed(Int64.self, count: groupCount, pool: pool) { out in
            for group in 0..<groupCount { out[group] = counts[group] }
        }
        return Output.array(.int64, length: groupCount, validity: nil, [values])
    }
}

/// sum(x) and avg(x): integers and decimals accumulate exactly in `Int128`, floats in
/// `Double`. A group with no non-NULL input is NULL.
private final class SumAccumulator<T: NumberValue, Acc: ArithmeticValue>: Accumulator {
    let call: AggregateCall
    let divisor: Double
    var sums: [Acc] = []
    var counts: [Int64] = []
    var overflow = false

    init(call: AggregateCall, scale: Int) {
        self.call = call
        divisor = Double(Decimal.powersOfTen[scale])
    }

    @inline(__always) private static func widen(_ value: T) -> Acc {
        Acc.isInteger ? Acc(exactlyInt128: value.int128Value) ?? .zero : Acc(exactlyDouble: value.doubleValue) ?? .zero
    }

    func update(_ input: ArrayData?, groups: [Int32]?, groupCount: Int, rowCount: Int) throws {
        guard let input else { return }
        grow(&sums, to: groupCount, with: .zero)
        grow(&counts, to: groupCount, with: 0)
        let values = Columns.values(input, as: T.self)
        var flag = false
        if groups == nil && input.nullCount == 0 {
            // One group, no NULLs: a plain reduction the compiler can vectorise.
            var total = Acc.zero
            for row in 0..<rowCount {
                let (sum, o) = Acc.add(total, Self.widen(values[row]))
                total = sum
                flag = flag || o
            }
            let (sum, o) = Acc.add(sums[0], total)
            sums[0] = sum
            counts[0] += Int64(rowCount)
            overflow = overflow || flag || o
            return
        }
        sums.withUnsafeMutableBufferPointer { sums in
            counts.withUnsafeMutableBufferPointer { counts in
                forEachValidRow(input, groups, rowCount) { row, group in
                    let (sum, o) = Acc.add(sums[group], Self.widen(values[row]))
                    sums[group] = sum
                    counts[group] += 1
                    flag = flag || o
                }
            }
        }
        overflow = overflow || flag
    }

    func merge(_ other: any Accumulator, map: [Int32], groupCount: Int) throws {
        guard let other = other as? SumAccumulator<T, Acc> else { return }
        grow(&sums, to: groupCount, with: .zero)
        grow(&counts, to: groupCount, with: 0)
        for group in other.sums.indices {
            let target = Int(map[group])
            let (sum, o) = Acc.add(sums[target], other.sums[group])
            sums[target] = sum
            counts[target] += other.counts[group]
            overflow = overflow || o
        }
        overflow = overflow || other.overflow
    }

    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        guard !overflow else { throw QuiverError(.query, "overflow in \(call.text)") }
        grow(&sums, to: groupCount, with: .zero)
        grow(&counts, to: groupCount, with: 0)
        var scalars: [Scalar] = []
        scalars.reserveCapacity(groupCount)
        for group in 0..<groupCount {
            guard counts[group] > 0 else {
                scalars.append(.null(call.type))
                continue
            }
            let sum = sums[group]
            if call.function == .avg {
                scalars.append(.float64(sum.doubleValue / divisor / Double(counts[group])))
            } else if case .int64 = call.type {
                guard let value = Int64(exactly: sum.int128Value) else {
                    throw QuiverError(.query, "\(call.text) overflows int64")
                }
                scalars.append(.int64(value))
            } else if case .float64 = call.type {
                scalars.append(.float64(sum.doubleValue))
            } else {
                scalars.append(Scalar(type: call.type, payload: .decimal(sum.int128Value)))
            }
        }
        return try ScalarArrays.array(of: scalars, type: call.type, pool: pool)
    }
}

/// min(x) / max(x) over a number type (NaNs are skipped).
private final class MinMaxAccumulator<T: NumberValue>: Accumulator {
    let isMax: Bool
    let type: DataType
    var values: [T] = []
    var seen: [Bool] = []

    init(isMax: Bool, type: DataType) {
        self.isMax = isMax
        self.type = type
    }

    @inline(__always) private func better(_ candidate: T, than current: T) -> Bool {
        isMax ? candidate > current : candidate < current
    }

    func update(_ input: ArrayData?, groups: [Int32]?, groupCount: Int, rowCount: Int) throws {
        guard let input else { return }
        grow(&values, to: groupCount, with: .zero)
        grow(&seen, to: groupCount, with: false)
        let source = Columns.values(input, as: T.self)
        values.withUnsafeMutableBufferPointer { values in
            seen.withUnsafeMutableBufferPointer { seen in
                forEachValidRow(input, groups, rowCount) { row, group in
                    let value = source[row]
                    guard value == value else { return }
                    if !seen[group] || better(value, than: values[group]) {
                        values[group] = value
                        seen[group] = true
                    }
                }
            }
        }
    }

    func merge(_ other: any Accumulator, map: [Int32], groupCount: Int) throws {
        guard let other = other as? MinMaxAccumulator<T> else { return }
        grow(&values, to: groupCount, with: .zero)
        grow(&seen, to: groupCount, with: false)
        for group in other.values.indices where other.seen[group] {
            let target = Int(map[group])
            if !seen[target] || better(other.values[group], than: values[target]) {
                values[target] = other.values[group]
                seen[target] = true
            }
        }
    }

    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        grow(&values, to: groupCount, with: .zero)
        grow(&seen, to: groupCount, with: false)
        let scalars = (0..<groupCount).map { seen[$0] ? ScalarArrays.scalar(values[$0], type: type) : .null(type) }
        return try ScalarArrays.array(of: scalars, type: type, pool: pool)
    }
}

/// min(x) / max(x) over strings (bytewise order); copies a value only when it wins.
private final class BytesMinMax: Accumulator {
    let isMax: Bool
    let type: DataType
    var values: [[UInt8]?] = []

    init(isMax: Bool, type: DataType) {
        self.isMax = isMax
        self.type = type
    }

    private func offer(_ candidate: ByteString, _ group: Int) {
        let wins = values[group].map { stored in
            stored.withUnsafeBytes { raw in
                let c = ByteString.compare(candidate, ByteString(start: raw.baseAddress ?? candidate.start, count: raw.count))
                return isMax ? c > 0 : c < 0
            }
        } ?? true
        if wins { values[group] = Array(candidate.bytes) }
    }

    func update(_ input: ArrayData?, groups: [Int32]?, groupCount: Int, rowCount: Int) throws {
        guard let input else { return }
        grow(&values, to: groupCount, with: nil)
        if Columns.hasLargeOffsets(input.type) {
            let view = Columns.strings(input, offsets: Int64.self)
            forEachValidRow(input, groups, rowCount) { row, group in offer(view[row], group) }
        } else {
            let view = Columns.strings(input, offsets: Int32.self)
            forEachValidRow(input, groups, rowCount) { row, group in offer(view[row], group) }
        }
    }

    func merge(_ other: any Accumulator, map: [Int32], groupCount: Int) throws {
        guard let other = other as? BytesMinMax else { return }
        grow(&values, to: groupCount, with: nil)
        for (group, value) in other.values.enumerated() {
            guard let value else { continue }
            value.withUnsafeBytes { raw in
                offer(ByteString(start: raw.baseAddress ?? Buffer.empty.baseAddress, count: raw.count), Int(map[group]))
            }
        }
    }

    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        grow(&values, to: groupCount, with: nil)
        let scalars = values.prefix(groupCount).map { $0.map { Scalar(type: type, payload: .bytes($0)) } ?? .null(type) }
        return try ScalarArrays.array(of: scalars, type: type, pool: pool)
    }
}

/// count(DISTINCT x): one key table of (group, value) pairs; a group's count is the number
/// of pairs with its id. NULL values are not counted.
private final class DistinctAccumulator: Accumulator {
    let pairs = KeyTable()
    let pool: MemoryPool

    init(pool: MemoryPool) { self.pool = pool }

    func update(_ input: ArrayData?, groups: [Int32]?, groupCount: Int, rowCount: Int) throws {
        guard let input else { return }
        let prefix = groups ?? [Int32](repeating: 0, count: rowCount)
        let encoder = try KeyEncoder([input], rowCount: rowCount, groupPrefix: prefix, pool: pool)
        encoder.forEachKey { _, key, hash in
            if key[4] != 0 { _ = pairs.intern(key, hash: hash) }
        }
    }

    func merge(_ other: any Accumulator, map: [Int32], groupCount: Int) throws {
        guard let other = other as? DistinctAccumulator else { return }
        var scratch: [UInt8] = []
        for id in 0..<other.pairs.count {
            other.pairs.withKey(id) { key in
                scratch.removeAll(keepingCapacity: true)
                scratch.append(contentsOf: key)
                let group = key.loadUnaligned(as: Int32.self)
                scratch.withUnsafeMutableBytes { $0.storeBytes(of: map[Int(group)], as: Int32.self) }
                scratch.withUnsafeBytes { _ = pairs.intern($0, hash: KeyTable.hash($0)) }
            }
        }
    }

    func finish(groupCount: Int, pool: MemoryPool) throws -> ArrayData {
        var counts = [Int64](repeating: 0, count: groupCount)
        for id in 0..<pairs.count {
            let group = pairs.withKey(id) { Int($0.loadUnaligned(as: Int32.self)) }
            if group < groupCount { counts[group] += 1 }
        }
        let values = Output.fixed(Int64.self, count: groupCount, pool: pool) { out in
            for group in 0..<groupCount { out[group] = counts[group] }
        }
        return Output.array(.int64, length: groupCount, validity: nil, [values])
    }
}
