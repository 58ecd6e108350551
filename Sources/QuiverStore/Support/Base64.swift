import QuiverBytes

/// Standard base64 (RFC 4648 alphabet, `=` padding, no line breaks): how binary statistics
/// travel in footer metadata, whose values must be valid UTF-8.
enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    /// 0–63 for alphabet bytes, 0xFF for anything else.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Encodes the bytes of a buffer, keeping it alive while they are read.
    static func encode(_ buffer: Buffer) -> String {
        withExtendedLifetime(buffer) { encode(buffer.bytes) }
    }

    /// Every pair of output characters, indexed by 12 input bits (first character in the
    /// low byte): two lookups encode three bytes.
    private static let pairs: [UInt16] = (0..<4096).map { bits in
        UInt16(alphabet[bits >> 6]) | UInt16(alphabet[bits & 63]) << 8
    }

    /// Encodes bytes; one pass, one allocation for the result.
    static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        let outputCount = (bytes.count + 2) / 3 * 4
        guard outputCount > 0, let input = bytes.baseAddress else { return "" }
        return String(unsafeUninitializedCapacity: outputCount) { output in
            guard let out = output.baseAddress else { return 0 }
            return pairs.withUnsafeBufferPointer { pairs in
                alphabet.withUnsafeBufferPointer { table in
                    let count = bytes.count
                    var index = 0, written = 0
                    // Six bytes per step, read as one (eight-byte) word: four lookups, one store.
                    while count - index >= 8 {
                        let word = UInt64(bigEndian: input.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                        let octet = UInt64(pairs[Int(truncatingIfNeeded: word >> 52) & 0xFFF])
                            | UInt64(pairs[Int(truncatingIfNeeded: word >> 40) & 0xFFF]) << 16
                            | UInt64(pairs[Int(truncatingIfNeeded: word >> 28) & 0xFFF]) << 32
                            | UInt64(pairs[Int(truncatingIfNeeded: word >> 16) & 0xFFF]) << 48
                        UnsafeMutableRawPointer(out + written).storeBytes(of: octet.littleEndian, as: UInt64.self)
                        index += 6
                        written += 8
                    }
                    while count - index >= 3 {
                        let chunk = Int(input.load(fromByteOffset: index, as: UInt8.self)) << 16
                            | Int(input.load(fromByteOffset: index + 1, as: UInt8.self)) << 8
                            | Int(input.load(fromByteOffset: index + 2, as: UInt8.self))
                        let quad = UInt32(pairs[chunk >> 12]) | UInt32(pairs[chunk & 0xFFF]) << 16
                        UnsafeMutableRawPointer(out + written).storeBytes(of: quad.littleEndian, as: UInt32.self)
                        index += 3
                        written += 4
                    }
                    let rest = count - index
                    if rest > 0 {
                        let first = UInt32(input.load(fromByteOffset: index, as: UInt8.self))
                        let second = rest == 2 ? UInt32(input.load(fromByteOffset: index + 1, as: UInt8.self)) : 0
                        let chunk = first << 16 | second << 8
                        out[written] = table[Int(chunk >> 18)]
                        out[written + 1] = table[Int(chunk >> 12 & 63)]
                        out[written + 2] = rest == 2 ? table[Int(chunk >> 6 & 63)] : UInt8(ascii: "=")
                        out[written + 3] = UInt8(ascii: "=")
                        written += 4
                    }
                    return written
                }
            }
        }
    }

    /// Decodes base64 into a fresh pool buffer. Throws `invalidData` for a length that is not
    /// a multiple of 4, a byte outside the alphabet, or misplaced padding.
    static func decode(_ text: String, pool: MemoryPool = .default) throws -> Buffer {
        var text = text
        return try text.withUTF8 { utf8 in try decode(UnsafeRawBufferPointer(utf8), pool: pool) }
    }

    static func decode(_ input: UnsafeRawBufferPointer, pool: MemoryPool) throws -> Buffer {
        guard input.count % 4 == 0 else {
            throw QuiverError(.invalidData, "base64 text of \(input.count) bytes is not a multiple of 4")
        }
        guard input.count > 0 else { return .empty }
        let padding = input[input.count - 1] == UInt8(ascii: "=") ? (input[input.count - 2] == UInt8(ascii: "=") ? 2 : 1) : 0
        let outputCount = input.count / 4 * 3 - padding
        let allocation = pool.allocate(byteCount: outputCount)
        let output = allocation.pointer.assumingMemoryBound(to: UInt8.self)
        try values.withUnsafeBufferPointer { table in
            @inline(__always) func sextet(_ index: Int) -> UInt32 { UInt32(table[Int(input[index])]) }
            let groups = input.count / 4
            let whole = padding > 0 ? groups - 1 : groups
            var invalid: UInt32 = 0
            for group in 0..<whole {
                let index = group * 4
                let a = sextet(index), b = sextet(index + 1), c = sextet(index + 2), d = sextet(index + 3)
                invalid |= a | b | c | d  // a byte outside the alphabet maps to 0xFF
                let chunk = a << 18 | b << 12 | c << 6 | d
                output[group * 3] = UInt8(truncatingIfNeeded: chunk >> 16)
                output[group * 3 + 1] = UInt8(truncatingIfNeeded: chunk >> 8)
                output[group * 3 + 2] = UInt8(truncatingIfNeeded: chunk)
            }
            if padding > 0 {
                let index = whole * 4
                let a = sextet(index), b = sextet(index + 1), c = padding == 2 ? 0 : sextet(index + 2)
                invalid |= a | b | c
                let chunk = a << 18 | b << 12 | c << 6
                output[whole * 3] = UInt8(truncatingIfNeeded: chunk >> 16)
                if padding == 1 { output[whole * 3 + 1] = UInt8(truncatingIfNeeded: chunk >> 8) }
            }
            guard invalid & 0xC0 == 0 else { throw QuiverError(.invalidData, "invalid byte in base64 text") }
        }
        return allocation.buffer(count: outputCount)
    }
}
