import QuiverBytes
import QuiverTestSupport
import Testing

/// The FlatBuffers verifier's rules, one hand-built violation each: every buffer here was
/// read without complaint before the rule was enforced, and Arrow C++ refuses it.
@Suite(.tags(.untrustedInput)) struct FlatBufferVerifierTests {
    /// A root table with a string field (0, the uoffset at table + 4) and an int64 field (1),
    /// laid out by hand so that a test can misplace each part:
    /// `| root | vtable at vtableAt | … | table at table | … | string "abc\0" at string |`.
    static func layout(table: Int = 16, int64Offset: Int = 8, string: Int = 32, vtableAt: Int = 4) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: string + 8)
        func put<T: FixedWidthInteger>(_ value: T, at position: Int) {
            withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(position..<position + $0.count, with: $0) }
        }
        put(UInt32(table), at: 0)
        put(UInt16(8), at: vtableAt)  // vtable bytes: size, inline size, two field offsets
        put(UInt16(int64Offset + 8), at: vtableAt + 2)
        put(UInt16(4), at: vtableAt + 4)
        put(UInt16(int64Offset), at: vtableAt + 6)
        put(Int32(table - vtableAt), at: table)
        put(UInt32(string - (table + 4)), at: table + 4)
        put(Int64(42), at: table + int64Offset)
        put(UInt32(3), at: string)
        bytes.replaceSubrange(string + 4..<string + 7, with: Array("abc".utf8))
        return bytes
    }

    static func root(_ bytes: [UInt8]) throws -> FlatBufferTable { try FlatBufferTable.root(of: Buffer(copying: bytes)) }

    @Test func wellFormedBufferReads() throws {
        let table = try Self.root(Self.layout())
        #expect(try table.string(0) == "abc")
        #expect(try table.scalar(1, default: Int64(0)) == 42)
        #expect(table.has(0) && table.has(1) && !table.has(2))
    }

    @Test func stringWithoutItsTerminatingNulIsRefused() throws {
        var bytes = Self.layout()
        bytes[32 + 4 + 3] = UInt8(ascii: "x")
        #expect(throws: QuiverError.self) { try Self.root(bytes).string(0) }
        // The terminator must be inside the buffer at all.
        #expect(throws: QuiverError.self) { try Self.root(Array(Self.layout().dropLast())).string(0) }
    }

    @Test func misalignedTableIsRefused() {
        #expect(throws: QuiverError.self) { try Self.root(Self.layout(table: 18, int64Offset: 6, string: 34)) }
    }

    @Test func misalignedVtableIsRefused() {
        #expect(throws: QuiverError.self) { try Self.root(Self.layout(vtableAt: 5)) }
    }

    @Test func misalignedScalarIsRefused() throws {
        // The int64 at table + 12 = 28: 4-byte but not 8-byte aligned.
        let table = try Self.root(Self.layout(int64Offset: 12))
        #expect(throws: QuiverError.self) { try table.scalar(1, default: Int64(0)) }
        #expect(try table.scalar(1, default: Int32(0)) == 42)  // an int32 there is aligned
    }

    @Test func misalignedStringIsRefused() throws {
        let table = try Self.root(Self.layout(string: 34))
        #expect(throws: QuiverError.self) { try table.string(0) }
    }

    @Test func offsetToItselfIsRefused() throws {
        var bytes = Self.layout()
        bytes.replaceSubrange(20..<24, with: [0, 0, 0, 0])
        #expect(throws: QuiverError.self) { try Self.root(bytes).string(0) }
        // The root offset too.
        var rootZero = Self.layout()
        rootZero.replaceSubrange(0..<4, with: [0, 0, 0, 0])
        #expect(throws: QuiverError.self) { try Self.root(rootZero) }
    }

    @Test func oddVtableSizeIsRefused() {
        var bytes = Self.layout()
        bytes[4] = 7
        #expect(throws: QuiverError.self) { try Self.root(bytes) }
    }
}
