/// A verifying FlatBuffers reader: the small subset Arrow's metadata needs.
///
/// ```
/// buffer:  | uoffset32 → root table | ... |
/// table:   | soffset32 (table − vtable) | inline fields ... |
/// vtable:  | u16 vtable bytes | u16 table inline bytes | u16 field offset × N (0 = absent) |
/// string:  | u32 length | bytes | 0 |          vector: | u32 count | elements |
/// ```
/// Every position is checked before it is read: the root and every table, vtable, string and
/// vector must lie inside the buffer, each field inside its table's inline area, and a vector's
/// element count is bounded by the bytes that follow it — so a hostile count cannot size an
/// allocation. The rules of the FlatBuffers C++ `Verifier` that Arrow C++ runs (alignment
/// checks on) hold for everything read, so a buffer Arrow refuses is refused here too: the
/// buffer is at least 12 bytes; tables and the length words of strings and vectors are
/// 4-byte aligned, vtables 2-byte aligned with an even size, scalar fields aligned to their
/// size (positions relative to the buffer's start); an offset is neither 0 nor negative as
/// an int32; a string's terminating NUL is inside the buffer and is a NUL. Traversal depth and the number of tables visited are budgeted by the caller
/// through `FlatBufferBudget`, which defeats cyclic or exponentially shared structures.
/// Fields beyond a vtable's end read as absent, which is how unknown (newer) fields and old
/// writers stay compatible.
package struct FlatBufferTable {
    /// The whole flatbuffer.
    package let buffer: Buffer
    /// Position of the table's soffset.
    package let position: Int
    // Internal but inlinable, so `scalar` specialises in the modules that call it: left
    // generic, every field read instantiated type metadata at run time (a quarter of the
    // cost of decoding a record batch header).
    @usableFromInline let vtable: Int
    @usableFromInline let vtableSize: Int
    @usableFromInline let inlineSize: Int

    /// Reads the root table of a flatbuffer.
    @inlinable
    package static func root(of buffer: Buffer) throws -> FlatBufferTable {
        // The smallest table: root offset, a 4-byte vtable, the table's soffset.
        guard buffer.count >= 12 else { throw flatBufferError("flatbuffer of \(buffer.count) bytes, fewer than 12") }
        return try FlatBufferTable(buffer: buffer, position: followOffset(in: buffer, at: 0))
    }

    /// The target of the uoffset at `at` (4-byte aligned and inside the buffer, checked by
    /// the caller): not itself, not negative as an int32, inside the buffer.
    @inlinable
    static func followOffset(in buffer: Buffer, at: Int) throws -> Int {
        let offset = buffer.uncheckedReadLittleEndian(UInt32.self, at: at)
        guard offset != 0, offset <= UInt32(Int32.max), at + Int(offset) < buffer.count else {
            throw flatBufferError("offset \(offset) at \(at) leaves the buffer of \(buffer.count) bytes")
        }
        return at + Int(offset)
    }

    /// Verifies the table header and vtable at `position`.
    @inlinable
    package init(buffer: Buffer, position: Int) throws {
        try checkRange(offset: position, count: 4, within: buffer.count)
        guard position & 3 == 0 else { throw flatBufferError("table at \(position) is not 4-byte aligned") }
        let soffset = Int(Int32(bitPattern: buffer.uncheckedReadLittleEndian(UInt32.self, at: position)))
        let vtable = position - soffset
        guard vtable >= 0, vtable <= buffer.count - 4 else {
            throw flatBufferError("vtable at \(vtable) outside buffer of \(buffer.count)")
        }
        guard vtable & 1 == 0 else { throw flatBufferError("vtable at \(vtable) is not 2-byte aligned") }
        let vtableSize = Int(buffer.uncheckedReadLittleEndian(UInt16.self, at: vtable))
        let inlineSize = Int(buffer.uncheckedReadLittleEndian(UInt16.self, at: vtable + 2))
        guard vtableSize >= 4, vtableSize & 1 == 0, vtableSize <= buffer.count - vtable else {
            throw flatBufferError("vtable size \(vtableSize) invalid")
        }
        guard inlineSize >= 4, inlineSize <= buffer.count - position else {
            throw flatBufferError("table size \(inlineSize) exceeds buffer")
        }
        self.buffer = buffer
        self.position = position
        self.vtable = vtable
        self.vtableSize = vtableSize
        self.inlineSize = inlineSize
    }

    /// The absolute position of field `id`, or nil if absent; checks `size` bytes fit inside
    /// the table's inline area and, for a scalar (`size` 2, 4 or 8), are aligned to `size`.
    @inlinable
    package func fieldPosition(_ id: Int, size: Int) throws -> Int? {
        let slot = 4 + 2 * id
        guard slot + 2 <= vtableSize else { return nil }
        let offset = Int(buffer.uncheckedReadLittleEndian(UInt16.self, at: vtable + slot))
        guard offset != 0 else { return nil }
        guard offset >= 4, offset + size <= inlineSize else {
            throw flatBufferError("field \(id) at \(offset) outside table of \(inlineSize) bytes")
        }
        // Presence (size 0) and bytes need no alignment.
        guard size < 2 || (position + offset) & (size - 1) == 0 else {
            throw flatBufferError("field \(id) at \(position + offset) is not \(size)-byte aligned")
        }
        return position + offset
    }

    /// Whether field `id` is present.
    package func has(_ id: Int) -> Bool { (try? fieldPosition(id, size: 0)) != nil }

    /// A scalar field, or `defaultValue` when absent.
    @inlinable
    package func scalar<T: FixedWidthInteger>(_ id: Int, default defaultValue: T) throws -> T {
        guard let at = try fieldPosition(id, size: MemoryLayout<T>.size) else { return defaultValue }
        return buffer.uncheckedReadLittleEndian(T.self, at: at)
    }

    /// A boolean field, or `defaultValue` when absent.
    package func bool(_ id: Int, default defaultValue: Bool = false) throws -> Bool {
        try scalar(id, default: UInt8(defaultValue ? 1 : 0)) != 0
    }

    /// Follows the uoffset stored in field `id`.
    @inlinable
    func indirect(_ id: Int) throws -> Int? {
        guard let at = try fieldPosition(id, size: 4) else { return nil }
        return try Self.followOffset(in: buffer, at: at)
    }

    /// A sub-table field, counted against `budget`.
    @inlinable
    package func table(_ id: Int, budget: inout FlatBufferBudget) throws -> FlatBufferTable? {
        guard let target = try indirect(id) else { return nil }
        try budget.visit()
        return try FlatBufferTable(buffer: buffer, position: target)
    }

    /// A string field, verified as UTF-8 and NUL-terminated.
    package func string(_ id: Int) throws -> String? {
        guard let target = try indirect(id) else { return nil }
        try Self.checkLengthWord(buffer, at: target)
        let length = Int(buffer.uncheckedReadLittleEndian(UInt32.self, at: target))
        try checkRange(offset: target + 4, count: length + 1, within: buffer.count)
        guard buffer.uncheckedReadLittleEndian(UInt8.self, at: target + 4 + length) == 0 else {
            throw flatBufferError("string field \(id) at \(target) is not NUL-terminated")
        }
        let bytes = UnsafeRawBufferPointer(start: buffer.baseAddress + target + 4, count: length)
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw QuiverError(.invalidFlatBuffer, "string field \(id) is not valid UTF-8")
        }
        return string
    }

    /// A vector field whose elements are `elementSize` bytes each (4 for tables and strings).
    @inlinable
    package func vector(_ id: Int, elementSize: Int) throws -> FlatBufferVector? {
        guard let target = try indirect(id) else { return nil }
        try Self.checkLengthWord(buffer, at: target)
        let count = Int(buffer.uncheckedReadLittleEndian(UInt32.self, at: target))
        let bytes = try checkedProduct(count, elementSize)
        try checkRange(offset: target + 4, count: bytes, within: buffer.count)
        return FlatBufferVector(buffer: buffer, start: target + 4, count: count, elementSize: elementSize)
    }

    /// The length word of a string or vector: inside the buffer and 4-byte aligned.
    @inlinable
    static func checkLengthWord(_ buffer: Buffer, at position: Int) throws {
        try checkRange(offset: position, count: 4, within: buffer.count)
        guard position & 3 == 0 else { throw flatBufferError("string or vector at \(position) is not 4-byte aligned") }
    }
}

/// A verified vector: its elements lie inside the buffer.
package struct FlatBufferVector {
    package let buffer: Buffer
    /// Position of the first element.
    package let start: Int
    package let count: Int
    package let elementSize: Int

    @usableFromInline
    init(buffer: Buffer, start: Int, count: Int, elementSize: Int) {
        self.buffer = buffer
        self.start = start
        self.count = count
        self.elementSize = elementSize
    }

    /// Element `index` as a scalar.
    @inlinable
    package func scalar<T: FixedWidthInteger>(at index: Int, as type: T.Type) -> T {
        precondition(index >= 0 && index < count && MemoryLayout<T>.size <= elementSize)
        return buffer.uncheckedReadLittleEndian(T.self, at: start + index * elementSize)
    }

    /// A scalar member at `byteOffset` inside struct element `index`.
    @inlinable
    package func structField<T: FixedWidthInteger>(at index: Int, byteOffset: Int, as type: T.Type) -> T {
        precondition(index >= 0 && index < count && byteOffset + MemoryLayout<T>.size <= elementSize)
        return buffer.uncheckedReadLittleEndian(T.self, at: start + index * elementSize + byteOffset)
    }

    /// Element `index` of a vector of tables, counted against `budget`.
    package func table(at index: Int, budget: inout FlatBufferBudget) throws -> FlatBufferTable {
        precondition(index >= 0 && index < count && elementSize == 4)
        try budget.visit()
        return try FlatBufferTable(buffer: buffer, position: FlatBufferTable.followOffset(in: buffer, at: start + index * 4))
    }
}

/// Bounds the work of one traversal: the number of tables visited and the nesting depth, so
/// that shared or cyclic references in hostile input cannot make parsing explode or recurse
/// without end. A value passed `inout` down the traversal (no allocation per message).
package struct FlatBufferBudget: Sendable {
    @usableFromInline var remainingTables: Int
    /// Current nesting depth (maintained by `enter`/`leave`).
    package private(set) var depth = 0
    /// The deepest nesting allowed.
    package let maxDepth: Int

    package init(maxTables: Int = 1_000_000, maxDepth: Int = 64) {
        self.remainingTables = maxTables
        self.maxDepth = maxDepth
    }

    /// Counts one table visit.
    @inlinable
    package mutating func visit() throws {
        remainingTables -= 1
        guard remainingTables >= 0 else {
            throw flatBufferError("too many tables (shared or cyclic references?)")
        }
    }

    /// Goes one nesting level deeper, failing past `maxDepth`; pair with `leave()`.
    package mutating func enter() throws {
        guard depth < maxDepth else {
            throw QuiverError(.invalidFlatBuffer, "nesting deeper than \(maxDepth) levels")
        }
        depth += 1
    }

    /// Comes back up one nesting level.
    package mutating func leave() { depth -= 1 }
}

/// An `invalidFlatBuffer` error, built out of line so that the inlined checks stay small.
@usableFromInline @inline(never)
func flatBufferError(_ message: @autoclosure () -> String) -> QuiverError {
    QuiverError(.invalidFlatBuffer, message())
}
