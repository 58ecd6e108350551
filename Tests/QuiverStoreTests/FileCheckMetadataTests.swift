import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverTestSupport
import Testing
@testable import QuiverStore

/// `quiver check` must refuse what Arrow C++ refuses, down to single bytes of a message's
/// flatbuffer that Quiver itself does not need.
@Suite(.tags(.untrustedInput)) struct FileCheckMetadataTests {
    /// The NUL that ends the `quiver:xxh64` key in a batch message's custom metadata, turned
    /// into a letter: the key still reads as "quiver:xxh64" by its length, the checksum still
    /// matches, but the flatbuffer is invalid (pyarrow: "Invalid flatbuffers message").
    @Test func unterminatedMetadataKeyIsAProblem() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("t.arrow")
        let file = try AppendableFile.create(path: path, schema: Sample.schema, options: fastAppend)
        try file.append(Sample.batch(0))
        try file.close()
        #expect(FileCheck.check(path: path).isHealthy)

        var bytes = try fileBytes(path)
        let key = Array("quiver:xxh64".utf8)
        let at = try #require((0...(bytes.count - key.count)).first { Array(bytes[$0..<$0 + key.count]) == key })
        #expect(bytes[at + key.count] == 0)
        bytes[at + key.count] = UInt8(ascii: "x")
        try writeFile(path, bytes)
        let report = FileCheck.check(path: path)
        #expect(!report.isHealthy, "\(report)")
        #expect(report.problems.contains { $0.contains("NUL") }, "\(report)")
    }
}
