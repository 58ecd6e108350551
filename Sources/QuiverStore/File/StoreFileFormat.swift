import QuiverArrow
import QuiverBytes
import QuiverIPC

// ─────────────────────────────────────────────────────────────────────────────────────────
// Store files: plain Arrow IPC files that can be appended to without ever losing a commit.
//
// LAYOUT (every byte offset is 8-aligned; the file is a valid Arrow file after every commit)
//
//   0      "ARROW1" 00 00
//   8      schema message
//          dictionary / record batch messages, back to back, in the order written
//   D      FF FF FF FF 00 00 00 00              end-of-stream marker        ← "data end"
//   D+8    Footer flatbuffer (schema, blocks, custom_metadata), zero-padded to 8
//          u64 xxh64(Footer bytes + padding, seed = D+8)  ┐ the seal: 16 bytes inside the
//          "QVRSEAL1"                                     ┘ footer length, after the flatbuffer
//          i32 footer length (flatbuffer + padding + seal)
//          "ARROW1"                                                      ← end of file
//
// Arrow readers (pyarrow, Polars, DuckDB, arrow-rs) find the footer through the trailing
// length, parse the flatbuffer from its start and ignore the 16 seal bytes after it. With
// checksums on (the default for synced commits), every dictionary and record batch message
// carries `quiver:xxh64` (hex xxh64 of its body) in its message custom_metadata. The
// messages of a multi-batch commit also carry `quiver:commit_remaining`: how many record
// batches of the same commit follow (0 on the last). The
// footer's custom_metadata carries `quiver:statistics` (StatisticsCodec.swift; absent while
// the file has no batches) next to any metadata of the caller's.
//
// COMMIT PROTOCOL (AppendableFile.commit). To append batches to a file whose data ends at D:
//   1. write their dictionary and record batch messages from D on — over the old
//      end-of-stream marker and footer; bytes before D are never written again;
//   2. with `.synced` durability: fsync, so the messages are on disk before anything
//      points at them;
//   3. write the end-of-stream marker, the new footer with its seal, length and magic
//      right after the last message (and truncate if the file was longer);
//   4. with `.synced` durability: fsync. The footer on disk is the commit record.
//
// WHY A CRASH AT ANY POINT IS SAFE. Until step 3 completes, the trailing magic, length, seal
// or footer bytes are either the old commit's (if nothing reached them yet: the old footer
// is intact, sealed, and names only old batches) or broken: the seal hashes the footer
// bytes with their offset, so a footer partly overwritten by new messages, partly written,
// or read while being written fails verification. A file whose footer fails is *recovered*
// (FileRecovery.swift): the messages are walked from offset 8, each checked (framing,
// bounds, body checksum, full validation), and the file is cut after the last complete
// commit — a batch is kept only with every byte of it and of its dictionaries, and of every
// batch of its commit (`quiver:commit_remaining`). So a file holds every acknowledged
// commit, may hold the one commit in flight if all its bytes arrived, and never part of a
// batch or of a commit. Recovery is reported (RecoveryReport), never silent. A checksum
// entry that cannot be read (a malformed value, a damaged key) marks its message damaged.
//
// SPACE RESERVED AHEAD. Writers of large batches reserve disk blocks past the end of the
// file (fallocate with FALLOC_FL_KEEP_SIZE: the size, and so what readers see, is unchanged)
// so the page cache takes the writes faster; closing the file gives back what was not used.
// A crash can leave such blocks reserved until the file's next writer closes it.
//
// READERS (FileSnapshot, and FileCheck the same way) read the tail once, verify the seal and
// take the footer as their snapshot: the batches it names lie before D and never change. A
// failed seal means a writer is mid-commit (or crashed): the reader retries with backoff,
// and only after a timeout — or at once when the store finds no writer alive — recovers in
// memory, read-only. Readers may verify each body's checksum as they read it
// (SnapshotOptions.verifyChecksums); by default they trust the bytes.
// ─────────────────────────────────────────────────────────────────────────────────────────

/// Constants of the store file format.
enum StoreFileFormat {
    static let sealMagic: [UInt8] = Array("QVRSEAL1".utf8)
    static let endOfStream: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0]
    /// Message custom metadata: hex xxh64 of the body.
    static let checksumKey = "quiver:xxh64"
    /// Trailer: int32 footer length + magic.
    static let trailerLength = 10
    /// Seal: xxh64 + seal magic.
    static let sealLength = 16
    /// How much of a file's end a reader fetches in one read, hoping the footer fits (a
    /// larger footer costs a second read).
    static let tailReadSize = 16 << 10

    /// The checksum metadata of an encoded body: xxh64 over its bytes as written (buffers
    /// and the zero padding between them).
    static func checksumMetadata(_ body: EncodedBody) -> Metadata {
        var hasher = XXHash64()
        var position = 0
        for (buffer, region) in zip(body.buffers, body.header.buffers) {
            hasher.updateZeros(Int(region.offset) - position)
            hasher.update(buffer.bytes)
            position = Int(region.offset) + buffer.count
        }
        hasher.updateZeros(body.bodyLength - position)
        return [checksumKey: hasher.finalize().hexDigits]
    }

    /// Message custom metadata of each batch of a multi-batch commit: how many record
    /// batches of the same commit follow it ("0" on its last). Recovery keeps the batches of
    /// such a commit only if its last one is complete too, so the commit lands whole or not
    /// at all. Batches committed alone carry no such entry.
    static let commitRemainingKey = "quiver:commit_remaining"

    /// What a message's `quiver:xxh64` entry says about its body.
    enum ChecksumState: Equatable {
        /// The body hashes to the recorded value.
        case matches
        /// The message has no checksum (written with checksums off, or by another writer).
        case absent
        /// The body does not hash to the recorded value: the body is damaged.
        case mismatch
        /// The entry is there but cannot be read (a malformed value, or a key that a damaged
        /// byte turned into a near miss): the message is damaged, not "without a checksum".
        case unreadable
    }

    /// The state of `message`'s body checksum.
    static func checksumState(_ message: Message) -> ChecksumState {
        let metadata = message.metadata.customMetadata
        guard let expected = metadata[checksumKey] else {
            return metadata.contains { isDamagedKey($0.key) } ? .unreadable : .absent
        }
        guard expected.utf8.count == 16, expected.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return .unreadable }
        return XXHash64.hash(message.body.bytes).hexDigits == expected ? .matches : .mismatch
    }

    /// Whether `key` is not one of the store's message keys but differs from one in at most
    /// three bytes of the same length: what a flipped byte makes of a store key.
    static func isDamagedKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        return [checksumKey, commitRemainingKey].contains { known in
            let expected = Array(known.utf8)
            return bytes != expected && bytes.count == expected.count && zip(bytes, expected).filter { $0 != $1 }.count <= 3
        }
    }

    /// Throws `invalidData` unless `message`'s body checksum matches or is absent (a damaged
    /// message must yield an error, never altered values). `offset` locates it in messages.
    static func verifyChecksum(_ message: Message, offset: Int) throws {
        switch checksumState(message) {
        case .matches, .absent: return
        case .mismatch: throw QuiverError(.invalidData, "body checksum mismatch in the message at byte \(offset) (damaged data)")
        case .unreadable: throw QuiverError(.invalidData, "unreadable checksum entry in the message at byte \(offset) (damaged metadata)")
        }
    }

    /// Reads the message of `block` from `input` and verifies its body checksum (see
    /// `verifyChecksum`). Reads (and hashes) every page of the body, copies nothing from a
    /// mapping.
    static func verifyChecksum(of block: FileBlock, in input: any RandomAccessInput) throws {
        let offset = try checkedCount(block.offset, "block offset")
        guard let message = try MessageReader(RandomAccessCursor(input, startingAt: offset)).next() else {
            throw QuiverError(.invalidMessage, "no message at byte \(offset)")
        }
        try verifyChecksum(message, offset: offset)
    }
}

/// A file's committed state as its footer records it: what a snapshot reads and an
/// appender resumes from.
struct CommittedFooter: Sendable {
    /// The decoded footer.
    var footer: Footer
    /// The first byte of the footer.
    var footerOffset: Int
    /// The end of the last message: where the next one goes (the end-of-stream marker).
    var dataEnd: Int
    /// The file size this footer ends.
    var fileSize: Int
    /// Whether the footer carries a valid seal (store files always do).
    var isSealed: Bool
}

/// Writing and reading the end of a store file.
enum FooterIO {
    /// The bytes from the data end to the end of the file: end-of-stream marker, footer
    /// (from `encoder`), seal, footer length, magic.
    static func encodeTail(
        _ encoder: FooterEncoder, dictionaries: [FileBlock], recordBatches: [FileBlock], metadata: Metadata, dataEnd: Int
    ) throws -> [UInt8] {
        var tail = StoreFileFormat.endOfStream
        let metadataBytes = metadata.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 32 }
        tail.reserveCapacity(
            1024 + (dictionaries.count + recordBatches.count) * FooterEncoder.blockSize + metadataBytes
                + StoreFileFormat.sealLength + StoreFileFormat.trailerLength)
        try encoder.encode(into: &tail, dictionaries: dictionaries, recordBatches: recordBatches, metadata: metadata)
        let footerStart = StoreFileFormat.endOfStream.count
        tail.append(contentsOf: repeatElement(0, count: alignUp(tail.count - footerStart, to: 8) - (tail.count - footerStart)))
        let footerLength = tail.count - footerStart
        let seal = tail.withUnsafeBytes { bytes in
            XXHash64.hash(UnsafeRawBufferPointer(rebasing: bytes[footerStart...]), seed: UInt64(dataEnd + footerStart))
        }
        guard let length = Int32(exactly: footerLength + StoreFileFormat.sealLength) else {
            throw QuiverError(.capacityExceeded, "file footer of \(footerLength) bytes is too large")
        }
        withUnsafeBytes(of: seal.littleEndian) { tail += $0 }
        tail += StoreFileFormat.sealMagic
        withUnsafeBytes(of: length.littleEndian) { tail += $0 }
        tail += ArrowFormat.fileMagic
        return tail
    }

    /// Reads and verifies the footer at the end of `input`. Throws `invalidMessage` when the
    /// trailing magic, length, seal (if `requireSeal` or present) or flatbuffer are wrong —
    /// a torn or missing footer — and `.io` errors from reading.
    static func read(_ input: any RandomAccessInput, requireSeal: Bool) throws -> CommittedFooter {
        let size = input.size
        let trailer = StoreFileFormat.trailerLength
        guard size >= 8 + 8 + trailer else {
            throw QuiverError(.invalidMessage, "\(size) bytes are too few for a committed Arrow file")
        }
        // One read usually covers the marker before the footer, the footer and the trailer.
        let tailStart = max(0, size - StoreFileFormat.tailReadSize)
        var tail = try input.read(at: tailStart, count: size - tailStart)
        guard try tail.slice(offset: tail.count - 6, count: 6).array == ArrowFormat.fileMagic else {
            throw QuiverError(.invalidMessage, "no trailing ARROW1 magic (footer missing or torn)")
        }
        let length = Int(tail.uncheckedReadLittleEndian(Int32.self, at: tail.count - trailer))
        guard length > 0, length <= size - 8 - trailer else {
            throw QuiverError(.invalidMessage, "footer length \(length) does not fit a file of \(size) bytes")
        }
        let footerOffset = size - trailer - length
        let regionStart = max(8, footerOffset - 8)  // include the end-of-stream marker when there is one
        if regionStart < tailStart {
            tail = try input.read(at: regionStart, count: size - regionStart)
        }
        let base = regionStart < tailStart ? regionStart : tailStart
        let region = try tail.slice(offset: footerOffset - base, count: length)
        var flatbuffer = region
        var isSealed = false
        if length >= StoreFileFormat.sealLength,
            try region.slice(offset: length - 8, count: 8).array == StoreFileFormat.sealMagic
        {
            let body = region.uncheckedSlice(offset: 0, count: length - StoreFileFormat.sealLength)
            let stored = region.uncheckedReadLittleEndian(UInt64.self, at: length - StoreFileFormat.sealLength)
            guard withExtendedLifetime(body, { XXHash64.hash(body.bytes, seed: UInt64(footerOffset)) }) == stored else {
                throw QuiverError(.invalidMessage, "footer seal does not match (footer torn or stale)")
            }
            flatbuffer = body
            isSealed = true
        } else if requireSeal {
            throw QuiverError(.invalidMessage, "footer has no seal (torn, or not written by a store)")
        }
        let footer = try withErrorContext("file footer") { try ArrowMetadata.decodeFooter(flatbuffer) }
        // A sealed footer always follows the end-of-stream marker, whose bytes a crashed
        // append may have overwritten: the footer, not those bytes, says where data ends.
        var dataEnd = isSealed ? footerOffset - 8 : footerOffset
        if !isSealed, footerOffset - 8 >= 8, footerOffset - 8 >= base,
            try tail.slice(offset: footerOffset - 8 - base, count: 8).array == StoreFileFormat.endOfStream
        {
            dataEnd = footerOffset - 8
        }
        for block in footer.dictionaries + footer.recordBatches {
            let end = block.offset.addingReportingOverflow(Int64(block.metadataLength)).partialValue
                .addingReportingOverflow(block.bodyLength)
            guard block.offset >= 8, block.metadataLength > 0, block.bodyLength >= 0, !end.overflow,
                end.partialValue <= Int64(dataEnd)
            else {
                throw QuiverError(.invalidMessage, "footer block at \(block.offset) lies outside the messages (before \(dataEnd))")
            }
        }
        return CommittedFooter(footer: footer, footerOffset: footerOffset, dataEnd: dataEnd, fileSize: size, isSealed: isSealed)
    }
}
