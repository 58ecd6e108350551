// swift-tools-version:6.1
import PackageDescription

// Layers, each knowing only the ones below it:
//   CLZ4/CZstd/CZlib/CPCRE2 (system libraries) → QuiverBytes → QuiverArrow → QuiverIPC → QuiverStore
//   → QuiverQuery → quiver (CLI); QuiverOutput (result writers) sits on QuiverIPC, beside the store.
//   QuiverIntegration (Arrow's integration-test JSON, with Foundation and zlib) sits on QuiverIPC too;
//   it is a product of its own, outside the umbrella, as arrow-rs keeps arrow-integration-test apart.
//   Quiver (Sources/Umbrella) re-exports the public modules: `import Quiver` is all a user needs.
let package = Package(
    name: "Quiver",
    platforms: [.macOS(.v15)],
    products: [
        .library(
            name: "Quiver",
            targets: ["Quiver", "QuiverBytes", "QuiverArrow", "QuiverIPC", "QuiverQuery", "QuiverStore", "QuiverOutput"]),
        .library(name: "QuiverIntegration", targets: ["QuiverIntegration"]),
        .executable(name: "quiver", targets: ["quiver"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CLZ4", path: "Sources/CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]),
        .systemLibrary(
            name: "CZstd", path: "Sources/CZstd", pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]),
        .systemLibrary(
            name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        .systemLibrary(
            name: "CPCRE2", path: "Sources/CPCRE2", pkgConfig: "libpcre2-8",
            providers: [.apt(["libpcre2-dev"]), .brew(["pcre2"])]),
        .target(name: "CQuiverIntrinsics"),
        // mallopt, which Swift's Glibc module does not export (see ProcessAllocator.swift).
        .target(name: "CQuiverMalloc"),
        .target(name: "QuiverBytes", dependencies: ["CQuiverMalloc"]),
        .target(name: "QuiverArrow", dependencies: ["QuiverBytes"]),
        .target(
            name: "QuiverIPC", dependencies: ["QuiverBytes", "QuiverArrow", "CLZ4", "CZstd"],),
        .target(name: "QuiverIntegration", dependencies: ["QuiverBytes", "QuiverArrow", "QuiverIPC", "CZlib"]),
        .target(name: "QuiverQuery", dependencies: ["QuiverBytes", "QuiverArrow", "QuiverIPC", "QuiverStore", "CPCRE2", "CQuiverIntrinsics"]),
        .target(name: "QuiverStore", dependencies: ["QuiverBytes", "QuiverArrow", "QuiverIPC"]),
        .target(name: "QuiverOutput", dependencies: ["QuiverBytes", "QuiverArrow", "QuiverIPC"]),
        .target(
            name: "Quiver",
            dependencies: ["QuiverBytes", "QuiverArrow", "QuiverIPC", "QuiverStore", "QuiverQuery", "QuiverOutput"],
            path: "Sources/Umbrella"),
        .executableTarget(
            name: "quiver",
            dependencies: [
                "QuiverBytes", "QuiverArrow", "QuiverIPC", "QuiverIntegration", "QuiverQuery", "QuiverStore", "QuiverOutput",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],),
        .target(
            name: "QuiverTestSupport",
            dependencies: ["QuiverBytes", "QuiverArrow", "QuiverIPC", "QuiverIntegration", "QuiverStore"],
            path: "Tests/QuiverTestSupport"),
        .testTarget(name: "QuiverBytesTests", dependencies: ["QuiverBytes", "QuiverTestSupport"]),
        .testTarget(name: "QuiverArrowTests", dependencies: ["QuiverArrow", "QuiverTestSupport"]),
        .testTarget(
            name: "QuiverIPCTests", dependencies: ["QuiverIPC", "QuiverArrow", "QuiverTestSupport"]),
        .testTarget(
            name: "QuiverIntegrationTests",
            dependencies: ["QuiverIntegration", "QuiverIPC", "QuiverArrow", "QuiverTestSupport"]),
        .testTarget(name: "QuiverStoreTests", dependencies: ["QuiverStore", "QuiverTestSupport", "quiver", "CZstd"]),
        .testTarget(name: "QuiverCLITests", dependencies: ["quiver", "QuiverStore", "QuiverIPC", "QuiverTestSupport"]),
        .testTarget(
            name: "QuiverOutputTests", dependencies: ["Quiver", "QuiverOutput", "QuiverTestSupport"]),
        .testTarget(
            name: "QuiverQueryTests",
            dependencies: [
                "QuiverQuery", "QuiverTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
    ]
)

// Fuzz targets (Fuzz/, one executable per reader): declared only when QUIVER_FUZZ is set, so
// that a plain `swift build` neither compiles nor resolves them. `make fuzz` sets it and builds
// them with libFuzzer and AddressSanitizer into .build-fuzz.
if Context.environment["QUIVER_FUZZ"] != nil {
    package.targets += [
        .target(name: "CFuzzDriver", path: "Fuzz/CFuzzDriver"),
        .target(
            name: "QuiverFuzzSupport", dependencies: ["CFuzzDriver", "QuiverBytes", "QuiverTestSupport"],
            path: "Fuzz/Support"),
        .executableTarget(
            name: "FuzzStreamReader", dependencies: ["QuiverFuzzSupport", "QuiverTestSupport"], path: "Fuzz/StreamReader"),
        .executableTarget(
            name: "FuzzFileReader", dependencies: ["QuiverFuzzSupport", "QuiverTestSupport"], path: "Fuzz/FileReader"),
        .executableTarget(
            name: "FuzzStoreFile", dependencies: ["QuiverFuzzSupport", "QuiverTestSupport", "QuiverStore"], path: "Fuzz/StoreFile"),
    ]
}
