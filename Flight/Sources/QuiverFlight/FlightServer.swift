import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import QuiverStore

/// A Flight server on a TCP address: `FlightService` over grpc-swift's HTTP/2 transport.
public struct FlightServer: Sendable {
    /// Where to listen.
    public var host: String
    /// The port; 0 picks a free one (see `run(onListening:)`).
    public var port: Int
    /// PEM files of the certificate chain and private key: with both, the server speaks TLS
    /// (clients connect to `grpc+tls://`), otherwise plain text (`grpc://`).
    public var tlsCertificatePath: String?
    /// See `tlsCertificatePath`.
    public var tlsPrivateKeyPath: String?
    /// The service's options.
    public var options: FlightOptions

    /// A server for `host:port`, plain text unless both TLS paths are given.
    public init(
        host: String = "127.0.0.1", port: Int = 8815, tlsCertificatePath: String? = nil, tlsPrivateKeyPath: String? = nil,
        options: FlightOptions = .init()
    ) {
        self.host = host
        self.port = port
        self.tlsCertificatePath = tlsCertificatePath
        self.tlsPrivateKeyPath = tlsPrivateKeyPath
        self.options = options
    }

    /// Serves `store` until the task is cancelled; `onListening` gets the bound port.
    public func run(store: Store, onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let security: HTTP2ServerTransport.Posix.TransportSecurity
        switch (tlsCertificatePath, tlsPrivateKeyPath) {
        case (let certificate?, let key?):
            security = .tls(certificateChain: [.file(path: certificate, format: .pem)], privateKey: .file(path: key, format: .pem))
        case (nil, nil):
            security = .plaintext
        default:
            throw RPCError(code: .invalidArgument, message: "TLS needs both a certificate chain and a private key")
        }
        var config = HTTP2ServerTransport.Posix.Config.defaults
        config.rpc.maxRequestPayloadSize = options.maxRequestMessageBytes
        // Bulk data: a window of 64 KiB (the default) would cap a stream at a window per
        // round trip; Arrow Flight servers use megabytes.
        config.http2.targetWindowSize = 16 << 20
        config.http2.maxFrameSize = (1 << 24) - 1
        config.http2.maxConcurrentStreams = options.maxConcurrentStreams
        // DoGet's stored messages bypass gRPC's copying framer (StoredMessageHandoff.swift).
        // Its placeholders must reach the stream uncompressed to be recognised: no gRPC
        // message compression (Arrow has its own, per buffer).
        config.compression.enabledAlgorithms = .none
        config.channelDebuggingCallbacks.onAcceptHTTP2Stream = { channel in
            // Called on the channel's event loop, before the stream's first frame.
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    StoredMessageWriter(viewsMappedBodies: tlsCertificatePath == nil), position: .first)
            }
        }
        let transport = HTTP2ServerTransport.Posix(
            address: .ipv4(host: host, port: port), transportSecurity: security, config: config)
        let service = FlightService(store: store, options: options, streamsWriteStoredMessages: true)
        defer { try? service.close() }
        var interceptors: [any ServerInterceptor] = []
        if let token = options.bearerToken { interceptors.append(BearerTokenInterceptor(token: token)) }
        let server = GRPCServer(transport: transport, services: [service], interceptors: interceptors)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            if let address = try await transport.listeningAddress.ipv4 {
                onListening(address.port)
            }
        }
    }
}

/// Checks `authorization: Bearer <token>` on every call. `Handshake` may instead present
/// the token as a Basic-auth password (pyarrow's `authenticate_basic_token`, ADBC's
/// username/password); the handshake answer then carries the bearer header.
struct BearerTokenInterceptor: ServerInterceptor {
    let token: String

    func intercept<Input: Sendable, Output: Sendable>(
        request: StreamingServerRequest<Input>, context: ServerContext,
        next: @Sendable (StreamingServerRequest<Input>, ServerContext) async throws -> StreamingServerResponse<Output>
    ) async throws -> StreamingServerResponse<Output> {
        let presented = Array(request.metadata[stringValues: "authorization"])
        let bearer = presented.contains { BearerTokenInterceptor.constantTimeEquals($0, "Bearer \(token)") }
        let basic = context.descriptor == Arrow_Flight_Protocol_FlightService.Method.Handshake.descriptor
            && presented.contains { BearerTokenInterceptor.basicPassword($0).map { BearerTokenInterceptor.constantTimeEquals($0, token) } ?? false }
        guard bearer || basic else {
            throw RPCError(code: .unauthenticated, message: "this server needs authorization: Bearer <token>")
        }
        return try await next(request, context)
    }

    /// The password of a `Basic base64(user:password)` header.
    static func basicPassword(_ header: String) -> String? {
        guard header.hasPrefix("Basic "), let decoded = Base64.decode(String(header.dropFirst(6))),
            let text = String(bytes: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        return String(text[text.index(after: colon)...])
    }

    static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

enum Base64 {
    static func decode(_ text: String) -> [UInt8]? {
        guard let data = Foundation.Data(base64Encoded: text) else { return nil }
        return Array(data)
    }
}
