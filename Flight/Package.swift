// swift-tools-version:6.1
import PackageDescription

// Quiver's Arrow Flight / Flight SQL server, in its own package so that users of the core
// modules never resolve or build gRPC: `swift build` at the repository root does not see it.
//   QuiverFlight (library: the service) → quiver-flight (executable: `serve DIR`)
let package = Package(
    name: "QuiverFlight",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "QuiverFlight", targets: ["QuiverFlight"]),
        .executable(name: "quiver-flight", targets: ["quiver-flight"]),
    ],
    dependencies: [
        .package(name: "Quiver", path: ".."),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // Already in the graph through the transport; named here for the DoGet stream handler.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.96.0"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.42.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "QuiverFlight",
            dependencies: [
                .product(name: "Quiver", package: "Quiver"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ]),
        .executableTarget(
            name: "quiver-flight",
            dependencies: [
                "QuiverFlight",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(
            name: "QuiverFlightTests",
            dependencies: [
                "QuiverFlight",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ]),
    ]
)
