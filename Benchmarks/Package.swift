// swift-tools-version:6.1
import PackageDescription

// Quiver's benchmarks: an ordo-one/benchmark suite (wall time + malloc counts, thresholds on
// allocations) and `quiver-peer-workloads`, the Quiver side of the peer comparison driven by
// peers/compare.py (pyarrow, Polars, DuckDB measured in the same run).
let package = Package(
    name: "QuiverBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Quiver", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(
            name: "QuiverBenchmarkSupport",
            dependencies: [.product(name: "Quiver", package: "Quiver")],
            path: "Sources/QuiverBenchmarkSupport"),
        .executableTarget(
            name: "IPCBenchmarks",
            dependencies: [
                "QuiverBenchmarkSupport",
                .product(name: "Quiver", package: "Quiver"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/IPCBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "StoreBenchmarks",
            dependencies: [
                .product(name: "Quiver", package: "Quiver"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/StoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "QueryBenchmarks",
            dependencies: [
                .product(name: "Quiver", package: "Quiver"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/QueryBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "OutputBenchmarks",
            dependencies: [
                .product(name: "Quiver", package: "Quiver"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/OutputBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]),
        .executableTarget(
            name: "quiver-peer-workloads",
            dependencies: ["QuiverBenchmarkSupport", .product(name: "Quiver", package: "Quiver")],
            path: "Sources/QuiverPeerWorkloads"),
    ]
)
