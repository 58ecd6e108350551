import QuiverIPC

/// How a `FlightService` serves a store: limits, authentication, endpoint sizes.
public struct FlightOptions: Sendable {
    /// When set, every call but `Handshake` must carry `authorization: Bearer <token>`;
    /// `Handshake` hands the header out to clients that present the token as a Basic-auth
    /// password (any user name) or as a bearer token.
    public var bearerToken: String?
    /// Streams (`DoGet`, `DoPut`, `DoExchange`) served at once, across all clients; further
    /// ones fail fast with `RESOURCE_EXHAUSTED` rather than queueing without bound.
    public var maxConcurrentStreams: Int
    /// Bytes one query may hold in Quiver's memory pool while it runs; beyond that it fails
    /// with `RESOURCE_EXHAUSTED`. Serving stored batches holds none (they are views).
    public var requestMemoryLimit: Int
    /// The largest message a client may send (a `DoPut` batch): gRPC refuses bigger ones.
    public var maxRequestMessageBytes: Int
    /// A table's files are split into endpoints of at most this many batches, so that a
    /// distributed client reads one table with several workers.
    public var batchesPerEndpoint: Int
    /// How a `DoPut` stream's batches are validated (full validation by default).
    public var readOptions: IPCReadOptions

    /// Options with the defaults a shared server wants: no auth, 64 streams, 1 GiB per
    /// query, 256 MiB per incoming message, 16 batches per endpoint, full validation.
    public init(
        bearerToken: String? = nil, maxConcurrentStreams: Int = 64, requestMemoryLimit: Int = 1 << 30,
        maxRequestMessageBytes: Int = 256 << 20, batchesPerEndpoint: Int = 16, readOptions: IPCReadOptions = .init()
    ) {
        self.bearerToken = bearerToken
        self.maxConcurrentStreams = maxConcurrentStreams
        self.requestMemoryLimit = requestMemoryLimit
        self.maxRequestMessageBytes = maxRequestMessageBytes
        self.batchesPerEndpoint = max(1, batchesPerEndpoint)
        self.readOptions = readOptions
    }
}
