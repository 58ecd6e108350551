// swift-tools-version:6.1
import PackageDescription

// A reference HTTP service embedding Quiver: ingest Arrow IPC streams, answer SQL as JSON or
// Arrow, expose memory and latency as Prometheus metrics. Its own package so the library
// carries none of these dependencies.
let package = Package(
    name: "QuiverService",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Quiver", path: "../.."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .executableTarget(
            name: "quiver-service",
            dependencies: [
                .product(name: "Quiver", package: "Quiver"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/QuiverService"),
    ]
)
