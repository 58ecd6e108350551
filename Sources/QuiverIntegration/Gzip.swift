import CZlib
import QuiverBytes
import QuiverIPC

/// gzip decompression through the system zlib (Foundation on Linux has none).
enum Gzip {
    /// Whether `bytes` start with the gzip magic (1F 8B).
    static func isGzip(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// Inflates every member of a gzip file. Throws `compression` on corrupt input and
    /// `capacityExceeded` when the output would pass `limit` bytes (a small file can
    /// declare gigabytes: the cap is checked as output grows, before it is kept).
    static func decompress(_ input: UnsafeRawBufferPointer, limit: Int) throws -> [UInt8] {
        guard let base = input.baseAddress, input.count > 0 else {
            throw QuiverError(.compression, "empty gzip input")
        }
        var output: [UInt8] = []
        var stream = z_stream()
        // 16 + MAX_WBITS: expect a gzip header and trailer.
        guard quiver_inflateInit2(&stream, 16 + 15) == Z_OK else {
            throw QuiverError(.compression, "zlib inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(clamping: input.count)
        var consumed = 0
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let status: Int32 = chunk.withUnsafeMutableBufferPointer { out in
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                return inflate(&stream, Z_NO_FLUSH)
            }
            let produced = chunk.count - Int(stream.avail_out)
            guard output.count <= limit - produced else {
                throw QuiverError(.capacityExceeded, "gzip output exceeds \(limit) bytes")
            }
            output.append(contentsOf: chunk[0..<produced])
            switch status {
            case Z_STREAM_END:
                // Concatenated members (`cat a.gz b.gz`) form one valid gzip file.
                consumed = input.count - Int(stream.avail_in)
                guard consumed < input.count else { return output }
                guard inflateReset(&stream) == Z_OK else {
                    throw QuiverError(.compression, "zlib inflateReset failed")
                }
            case Z_OK:
                continue
            case Z_BUF_ERROR where stream.avail_in == 0:
                throw QuiverError(.compression, "gzip input is truncated")
            default:
                let message = stream.msg.map { String(cString: $0) } ?? "error \(status)"
                throw QuiverError(.compression, "gzip: \(message)")
            }
        }
    }
}
