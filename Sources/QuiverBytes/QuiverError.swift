/// The one error type Quiver throws.
///
/// A public struct wrapping a private enum (as swift-nio does), so new kinds of error can be
/// added without breaking code that switches over them: compare `error.code` with the
/// static members of `QuiverError.Code`.
public struct QuiverError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, coarsely; the message says precisely.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case outOfBounds, invalidFlatBuffer, invalidMessage, invalidData, unsupported
            case schemaMismatch, typeMismatch, io, compression, invalidArgument, capacityExceeded
            case endOfStream, notFound, conflict, query
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A length, offset or count read from input points outside what contains it.
        public static let outOfBounds = Code(.outOfBounds)
        /// FlatBuffers metadata failed verification.
        public static let invalidFlatBuffer = Code(.invalidFlatBuffer)
        /// IPC framing or message metadata is malformed or inconsistent.
        public static let invalidMessage = Code(.invalidMessage)
        /// Array data violates the Arrow columnar format (offsets, utf8, indices, …).
        public static let invalidData = Code(.invalidData)
        /// Valid Arrow that Quiver does not handle (e.g. tensors, an unknown codec).
        public static let unsupported = Code(.unsupported)
        /// A batch's schema does not match the stream's or the table's.
        public static let schemaMismatch = Code(.schemaMismatch)
        /// A value or column has a type other than the one asked for.
        public static let typeMismatch = Code(.typeMismatch)
        /// An operating-system call failed; `errno` holds the error number (`ENOSPC`,
        /// `EACCES`, …) and the message its text.
        public static let io = Code(.io)
        /// A compressed buffer could not be decompressed (or compressed).
        public static let compression = Code(.compression)
        /// A caller passed an argument that cannot be honoured.
        public static let invalidArgument = Code(.invalidArgument)
        /// A declared size exceeds the cap Quiver allows before allocating.
        public static let capacityExceeded = Code(.capacityExceeded)
        /// Input ended in the middle of a message.
        public static let endOfStream = Code(.endOfStream)
        /// A named thing (column, table, file) does not exist.
        public static let notFound = Code(.notFound)
        /// Another writer holds a lock, or state changed underneath an operation.
        public static let conflict = Code(.conflict)
        /// A query failed to parse, type-check or run.
        public static let query = Code(.query)

        /// The code's name, e.g. `invalidData`.
        public var description: String { base.rawValue }

        /// Whether errors of this kind are the caller's (bad input, a bad argument, a name
        /// that does not exist, a conflict: a service answers 4xx) rather than Quiver's or
        /// the system's (I/O: 5xx).
        public var isCallerError: Bool { base != .io }
    }

    /// The kind of error.
    public let code: Code
    /// A human-readable explanation.
    public let message: String
    /// Where it happened, outermost last: e.g. `["field 'a'", "record batch 3", "offset 1024"]`.
    public private(set) var context: [String]
    /// For `.io` errors from a system call, its `errno` (compare with `ENOSPC`, `EACCES`, …).
    public let errno: Int32?

    /// An error of `code` with its message, context (outermost last) and system errno.
    public init(_ code: Code, _ message: String, context: [String] = [], errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.context = context
        self.errno = errno
    }

    /// Whether the caller caused this error (see `Code.isCallerError`): a request to refuse
    /// with a 4xx status, as opposed to a failure of the service (5xx).
    public var isCallerError: Bool { code.isCallerError }

    /// The HTTP status a service answers this error with: 404 not found, 409 conflict, 413
    /// a declared size over Quiver's caps, 400 other caller errors; 507 a full disk
    /// (`ENOSPC`, `EDQUOT`), 500 other failures.
    public var httpStatus: Int {
        switch code {
        case .notFound: return 404
        case .conflict: return 409
        case .capacityExceeded: return 413
        case .io: return isOutOfSpace ? 507 : 500
        default: return 400
        }
    }

    /// The same error with one more piece of context (e.g. the file offset of a message).
    public func adding(context item: String) -> QuiverError {
        var copy = self
        copy.context.append(item)
        return copy
    }

    /// `code: message`, then the context when there is one.
    public var description: String {
        context.isEmpty ? "\(code): \(message)" : "\(code): \(message) (at \(context.joined(separator: ", ")))"
    }
}

/// Runs `body`, and adds `context` to any `QuiverError` it throws.
@inlinable
package func withErrorContext<R>(_ context: @autoclosure () -> String, _ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let error as QuiverError {
        throw error.adding(context: context())
    }
}
