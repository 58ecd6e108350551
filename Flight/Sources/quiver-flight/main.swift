import Foundation
import ArgumentParser
import QuiverBytes
import QuiverFlight
import QuiverStore

/// `quiver-flight serve DIR`: serves a Quiver store over Arrow Flight and Flight SQL.
@main
struct QuiverFlightCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quiver-flight", abstract: "Serve a Quiver store over Arrow Flight and Flight SQL.",
        subcommands: [Serve.self])

    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the store at DIR (created if missing) until interrupted.")

        @Argument(help: "The store directory.") var directory: String
        @Option(help: "The address to listen on.") var host = "127.0.0.1"
        @Option(help: "The port (0: any free port, printed at start).") var port = 8815
        @Option(help: "Require 'authorization: Bearer TOKEN' (Handshake also takes TOKEN as a Basic-auth password).")
        var token: String?
        @Option(help: "PEM certificate chain: serve TLS (with --tls-key).") var tlsCert: String?
        @Option(help: "PEM private key for --tls-cert.") var tlsKey: String?
        @Option(help: "Streams served at once.") var maxStreams = 64
        @Option(help: "Bytes one query may hold while it runs.") var memoryLimit = 1 << 30
        @Option(help: "Batches per endpoint of a table (parallel readers split on these).") var batchesPerEndpoint = 16

        func run() async throws {
            // gRPC passes each message through buffers of its size (see ProcessAllocator).
            ProcessAllocator.keepLargeAllocationsResident()
            let store = try Store.openOrCreate(at: directory)
            let server = FlightServer(
                host: host, port: port, tlsCertificatePath: tlsCert, tlsPrivateKeyPath: tlsKey,
                options: FlightOptions(
                    bearerToken: token, maxConcurrentStreams: maxStreams, requestMemoryLimit: memoryLimit,
                    batchesPerEndpoint: batchesPerEndpoint))
            let scheme = tlsCert == nil ? "grpc" : "grpc+tls"
            try await server.run(store: store) { port in
                // Written at once (print's buffer would hold it back from a pipe): scripts
                // wait for this line to learn the port.
                FileHandle.standardOutput.write(Data("quiver-flight: serving \(directory) at \(scheme)://\(host):\(port)\n".utf8))
            }
        }
    }
}
