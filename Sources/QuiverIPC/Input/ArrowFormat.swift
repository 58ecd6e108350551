import QuiverBytes

/// The two Arrow IPC formats, and the one rule that tells them apart: a file begins with the
/// `ARROW1` magic (padded to 8 bytes, and repeated at its very end); a stream begins with
/// its schema message: the 0xFFFFFFFF continuation marker (or, before Arrow 0.15, the
/// metadata length), so anything else is read as a stream and fails there if it is not one.
public enum ArrowFormat: String, Sendable, CaseIterable {
    /// The random-access file format: messages, then a footer that indexes them.
    case file
    /// The stream format: messages only, read in order.
    case stream

    /// "ARROW1", at the start (padded to 8 bytes) and at the very end of every file.
    package static let fileMagic: [UInt8] = Array("ARROW1".utf8)
    /// How an Arrow file begins: the magic padded to 8 bytes, the alignment of what follows.
    package static let fileLeadingBytes: [UInt8] = fileMagic + [0, 0]

    /// The format of data that begins with `head`: `.file` when `head` starts with the
    /// magic, `.stream` otherwise (including when `head` is shorter than the magic).
    /// O(1): reads at most 8 bytes of `head`.
    public init(leadingBytes head: some Sequence<UInt8>) {
        self = head.starts(with: Self.fileMagic) ? .file : .stream
    }

    /// The format of `input`, from its first bytes (one read of at most 8 bytes).
    public init(of input: any RandomAccessInput) throws {
        self.init(leadingBytes: try input.read(at: 0, count: min(Self.fileLeadingBytes.count, input.size)).array)
    }

    /// Whether `head` could be the start of an Arrow file: it is a prefix of the padded
    /// magic, or the padded magic itself. Recovery accepts a file torn inside its first
    /// 8 bytes, which `init(leadingBytes:)` would call a stream.
    package static func canBeginFile(_ head: some Sequence<UInt8>) -> Bool {
        fileLeadingBytes.starts(with: head)
    }
}
