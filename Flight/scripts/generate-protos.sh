#!/usr/bin/env bash
# Regenerates Sources/QuiverFlight/Generated from Protos/*.proto. The generated code is
# committed: building the two protoc plugins takes about ten minutes, too long for every
# CI run. Run this only after editing a .proto.
#
# Needs protoc (Debian: protobuf-compiler). Builds the plugins from the same package
# versions Package.swift resolves (swift-protobuf's protoc-gen-swift, grpc-swift-protobuf's
# protoc-gen-grpc-swift-2) in a git-ignored scratch package, .build-protoc-tools/.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=../.build-protoc-tools/pkg
mkdir -p "$tools/Sources/Dummy"
cat > "$tools/Package.swift" <<'SWIFT'
// swift-tools-version:6.1
import PackageDescription
let package = Package(
    name: "ProtocTools",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
    ],
    targets: [.target(name: "Dummy")]
)
SWIFT
echo "let unused = 0" > "$tools/Sources/Dummy/Dummy.swift"
swift build --package-path "$tools" --product protoc-gen-swift
swift build --package-path "$tools" --product protoc-gen-grpc-swift-2
bin=$(swift build --package-path "$tools" --show-bin-path)
out=Sources/QuiverFlight/Generated
protoc -I Protos \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" --swift_out="$out" --swift_opt=Visibility=Internal \
  Protos/Flight.proto Protos/FlightSql.proto
protoc -I Protos \
  --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" --grpc-swift_out="$out" \
  --grpc-swift_opt=Visibility=Internal,Server=true,Client=true \
  Protos/Flight.proto
echo "generated: $(ls "$out")"
