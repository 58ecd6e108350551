// swift-tools-version:6.1
import PackageDescription

// A libFuzzer target for the SQL front end: arbitrary text is parsed, planned and run
// against a small in-memory table. Its own package so that the main one stays free of
// sanitizer flags; see README.md.
let package = Package(
    name: "QuiverSQLFuzz",
    dependencies: [.package(name: "Quiver", path: "../..")],
    targets: [
        .executableTarget(
            name: "FuzzSQL",
            dependencies: [.product(name: "Quiver", package: "Quiver")],
            path: "Sources/FuzzSQL"),
    ]
)
