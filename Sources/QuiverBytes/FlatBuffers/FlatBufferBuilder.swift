/// Builds a FlatBuffer back to front, as FlatBuffers builders do: children are written before
/// the tables that point to them, so every uoffset points forward in the finished buffer.
///
/// Internally bytes are appended in reverse order to `reversed`; an object's handle
/// (`FlatBufferBuilder.Offset`) is its distance from the end of the finished buffer.
/// Scalars equal to their schema default are omitted, as flatc-generated builders do.
package final class FlatBufferBuilder {
    /// A written object, identified by its distance from the buffer's end.
    package struct Offset: Hashable, Sendable {
        package let value: Int
        @usableFromInline init(value: Int) { self.value = value }
    }

    // Internal and inlinable where `createStructVector` needs them, so that it specialises for
    // the caller's struct type (unspecialised, its per-element work cost ~3k instructions).
    @usableFromInline var reversed: [UInt8] = []
    @usableFromInline var maxAlignment = 4
    private var fieldLocations: [(id: Int, at: Int)] = []
    private var tableStart: Int?

    package init(capacity: Int = 1024) { reversed.reserveCapacity(capacity) }

    @usableFromInline var size: Int { reversed.count }

    @usableFromInline func pad(_ count: Int) {
        for _ in 0..<count { reversed.append(0) }
    }

    /// Pads so that, after `additional` more bytes, the size is a multiple of `alignment`.
    @usableFromInline func align(_ alignment: Int, additional: Int = 0) {
        maxAlignment = max(maxAlignment, alignment)
        pad((alignment - (size + additional) % alignment) % alignment)
    }

    /// Appends a little-endian scalar (appending its bytes most significant first, because the
    /// storage is reversed), unaligned. Generic only in name: callers in other modules reach
    /// this unspecialised, so the work is done on 64 bits by `appendRaw(bits:byteCount:)`.
    @inline(__always)
    private func appendRaw<T: FixedWidthInteger>(_ value: T) {
        appendRaw(bits: UInt64(truncatingIfNeeded: value), byteCount: MemoryLayout<T>.size)
    }

    /// Appends the low `byteCount` bytes of `bits`, most significant first.
    @usableFromInline func appendRaw(bits: UInt64, byteCount: Int) {
        var shift = 8 * byteCount
        while shift > 0 {
            shift -= 8
            reversed.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift)))
        }
    }

    private func prepend<T: FixedWidthInteger>(_ value: T) {
        align(MemoryLayout<T>.size)
        appendRaw(value)
    }

    private func prependOffset(_ target: Offset) {
        align(4)
        appendRaw(UInt32(size + 4 - target.value))
    }

    /// Writes a string (UTF-8, NUL-terminated).
    package func createString(_ string: String) -> Offset {
        var string = string
        return string.withUTF8 { utf8 in
            align(4, additional: utf8.count + 1)
            reversed.append(0)
            appendReversed(UnsafeRawBufferPointer(utf8))
            appendRaw(UInt32(utf8.count))
            return Offset(value: size)
        }
    }

    /// Appends `bytes` last byte first (long strings, such as footer metadata, make this the
    /// builder's hot loop).
    private func appendReversed(_ bytes: UnsafeRawBufferPointer) {
        let start = reversed.count
        reversed.append(contentsOf: repeatElement(0, count: bytes.count))
        reversed.withUnsafeMutableBytes { storage in
            FlatBufferBuilder.copyReversed(bytes, to: UnsafeMutableRawBufferPointer(rebasing: storage[start...]))
        }
    }

    /// Copies `source` into `target` (of the same size) in reverse byte order, eight bytes
    /// at a time (a byte swap reverses a word).
    private static func copyReversed(_ source: UnsafeRawBufferPointer, to target: UnsafeMutableRawBufferPointer) {
        guard let input = source.baseAddress, let output = target.baseAddress else { return }
        let count = source.count
        var done = 0
        while count - done >= 8 {
            let word = input.loadUnaligned(fromByteOffset: count - done - 8, as: UInt64.self)
            output.storeBytes(of: word.byteSwapped, toByteOffset: done, as: UInt64.self)
            done += 8
        }
        while done < count {
            output.storeBytes(of: input.load(fromByteOffset: count - done - 1, as: UInt8.self), toByteOffset: done, as: UInt8.self)
            done += 1
        }
    }

    /// Writes a vector of scalars.
    package func createVector<T: FixedWidthInteger>(_ values: [T]) -> Offset {
        let width = MemoryLayout<T>.size
        align(4, additional: values.count * width)
        align(width, additional: values.count * width)
        for value in values.reversed() { appendRaw(value) }
        appendRaw(UInt32(values.count))
        return Offset(value: size)
    }

    /// Writes a vector of structs; `write` emits one struct's fields as little-endian scalars
    /// via the callback it is given, in declaration order (padding included).
    @inlinable
    package func createStructVector<S>(
        _ elements: [S], structSize: Int, alignment: Int, _ write: (S, (any FixedWidthInteger) -> Void) -> Void
    ) -> Offset {
        align(4, additional: elements.count * structSize)
        align(alignment, additional: elements.count * structSize)
        // Each struct's fields are gathered front to back as little-endian bytes, then appended
        // reversed (the storage is reversed): no array or generic call per field.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(structSize)
        for element in elements.reversed() {
            bytes.removeAll(keepingCapacity: true)
            write(element) { field in
                var bits = UInt64(truncatingIfNeeded: field)
                for _ in 0..<(field.bitWidth / 8) {
                    bytes.append(UInt8(truncatingIfNeeded: bits))
                    bits >>= 8
                }
            }
            reversed.append(contentsOf: bytes.reversed())
        }
        appendRaw(bits: UInt64(elements.count), byteCount: 4)
        return Offset(value: size)
    }

    /// Writes a vector of `count` structs of `structSize` bytes each, given as their
    /// little-endian bytes back to back (padding included): the fast path for long vectors,
    /// one copy and no per-field calls.
    package func createStructVector(bytes: UnsafeRawBufferPointer, count: Int, structSize: Int, alignment: Int) -> Offset {
        precondition(bytes.count == count * structSize, "struct bytes do not match count × size")
        align(4, additional: bytes.count)
        align(alignment, additional: bytes.count)
        appendReversed(bytes)
        appendRaw(UInt32(count))
        return Offset(value: size)
    }

    /// Writes a vector of offsets (to tables or strings).
    package func createOffsetVector(_ offsets: [Offset]) -> Offset {
        align(4, additional: offsets.count * 4)
        for offset in offsets.reversed() { prependOffset(offset) }
        appendRaw(UInt32(offsets.count))
        return Offset(value: size)
    }

    /// Begins a table; add its fields, then call `endTable()`.
    package func startTable() {
        precondition(tableStart == nil, "tables cannot nest while being built")
        fieldLocations.removeAll(keepingCapacity: true)
        tableStart = size
    }

    /// Adds a scalar field unless it equals the schema default.
    package func add<T: FixedWidthInteger>(_ id: Int, _ value: T, default defaultValue: T) {
        guard value != defaultValue else { return }
        prepend(value)
        fieldLocations.append((id, size))
    }

    /// Adds a boolean field unless it equals the schema default.
    package func add(_ id: Int, _ value: Bool, default defaultValue: Bool = false) {
        add(id, UInt8(value ? 1 : 0), default: UInt8(defaultValue ? 1 : 0))
    }

    /// Adds a field pointing to an object written earlier.
    package func add(_ id: Int, _ offset: Offset) {
        prependOffset(offset)
        fieldLocations.append((id, size))
    }

    /// Ends the current table: writes its vtable and returns the table's handle.
    package func endTable() -> Offset {
        guard let start = tableStart else { preconditionFailure("endTable without startTable") }
        prepend(Int32(0))  // soffset to the vtable, patched below
        let table = size
        let slotCount = (fieldLocations.map(\.id).max() ?? -1) + 1
        var slots = [UInt16](repeating: 0, count: slotCount)
        for (id, at) in fieldLocations { slots[id] = UInt16(table - at) }
        for slot in slots.reversed() { appendRaw(slot) }
        appendRaw(UInt16(table - start))
        appendRaw(UInt16(4 + 2 * slotCount))
        let vtable = size
        // The table's soffset (table − vtable, in forward positions) is vtable − table here.
        let soffset = UInt32(bitPattern: Int32(vtable - table))
        for byte in 0..<4 {
            reversed[table - 1 - byte] = UInt8(truncatingIfNeeded: soffset >> (8 * UInt32(byte)))
        }
        tableStart = nil
        return Offset(value: table)
    }

    /// Finishes the buffer with `root` as its root table and returns the bytes.
    package func finish(root: Offset) -> [UInt8] {
        align(maxAlignment, additional: 4)
        prependOffset(root)
        let count = reversed.count
        return [UInt8](unsafeUninitializedCapacity: count) { output, initialized in
            reversed.withUnsafeBytes { FlatBufferBuilder.copyReversed($0, to: UnsafeMutableRawBufferPointer(output)) }
            initialized = count
        }
    }
}
