import Foundation
import QuiverBytes
import QuiverTestSupport
import Testing
@testable import QuiverStore

/// `PositionedOutput` against a model of the file: random small and large writes (copied
/// bytes and kept buffers), flushes, commits (a footer written past the data, which the
/// next writes overwrite) and discards. After every write the file must hold exactly the
/// model's bytes below the last stretch boundary the writes reached and grow no further —
/// whole aligned stretches go out as soon as they are complete, nothing else does until a
/// flush — and in the end everything.
@Suite("Positioned output", .tags(.untrustedInput))
struct PositionedOutputTests {
    @Test(arguments: UInt64(1)...12)
    func writesWholeAlignedStretchesAndLosesNothing(seed: UInt64) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("out")
        let descriptor = try FileDescriptor.open(path, .readWrite, options: [.create, .truncate])
        defer { try? descriptor.close() }
        let stretch = 128 << 10
        let pool = MemoryPool()
        let output = PositionedOutput(descriptor: descriptor, position: 0, fileSize: 0, stretch: stretch, pool: pool)
        var random = seed &* 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(random >> 33) % bound
        }
        var model: [UInt8] = []  // the file as it must read after a flush
        var written = 0  // below this, the file must already match the model
        func onDisk() throws -> [UInt8] {
            let size = try descriptor.status().size
            var bytes = [UInt8](repeating: 0, count: size)
            _ = try bytes.withUnsafeMutableBytes { try descriptor.pread(fillingUpTo: $0, at: 0) }
            return bytes
        }
        for step in 0..<60 {
            let position = output.position
            switch next(10) {
            case 0:
                try output.flush()
                written = model.count
            case 1:
                // A commit: flush, then the footer goes straight to the file after the data,
                // where the next append overwrites it.
                try output.flush()
                let footer = [UInt8](repeating: 0xF0, count: 1 + next(3000))
                try footer.withUnsafeBytes { try descriptor.writeAll($0, at: output.position) }
                written = model.count
            case 2 where position > written:
                // A failed append: what is pending is dropped and the writer goes back to its
                // last commit (somewhere in what is on disk); the file keeps what it had.
                let target = next(written + 1)
                output.discard(movingTo: target)
                model = Array(try onDisk().prefix(target))
                written = target
            default:
                let count = next(3) == 0 ? next(5 * stretch) : next(2000)
                let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ step &* 7 &+ Int(seed)) }
                let sizeBefore = try descriptor.status().size
                if next(2) == 0 {
                    try output.write(Buffer(copying: bytes, pool: pool))
                } else {
                    try bytes.withUnsafeBytes { try output.write($0) }
                }
                model.removeSubrange(min(position, model.count)...)
                model += bytes
                // Everything below the last boundary reached is out (the pending bytes only
                // ever lie after one).
                let boundary = output.position - output.position % stretch
                written = max(min(written, position), boundary)
                // …and nothing past it: the file grows by whole stretches only.
                #expect(try descriptor.status().size == max(sizeBefore, boundary), "seed \(seed) step \(step)")
            }
            #expect(output.position == model.count, "seed \(seed) step \(step)")
            let disk = try onDisk()
            #expect(disk.count >= written && Array(disk.prefix(written)) == Array(model.prefix(written)), "seed \(seed) step \(step)")
        }
        try output.flush()
        #expect(Array(try onDisk().prefix(model.count)) == model)
    }
}
