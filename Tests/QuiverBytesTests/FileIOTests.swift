import Foundation
import QuiverBytes
import QuiverTestSupport
import Testing

@Suite struct FileIOTests {
    @Test func readFileInputAllocationsAreCountedAndReleased() throws {
        let bytes = patternBytes(100_000)
        let path = try temporaryFile(bytes)
        let pool = MemoryPool()
        let input = try ReadFileInput(path: path, pool: pool)
        #expect(input.size == bytes.count)
        do {
            let first = try input.read(at: 10, count: 1000)
            let second = try input.read(at: 99_000, count: 1000)
            #expect(first.array == Array(bytes[10..<1010]))
            #expect(second.array == Array(bytes[99_000..<100_000]))
            #expect(first.isAligned(to: 64) && second.isAligned(to: 64))
            #expect(pool.totalAllocatedBytes == 2 * 1024)
            #expect(try input.read(at: 5, count: 0).count == 0)
            #expect(pool.allocationCount == 2)
        }
        #expect(pool.totalAllocatedBytes == 0)
        #expect(throws: QuiverError.self) { try input.read(at: 99_999, count: 2) }
        #expect(pool.allocationCount == 2)
    }

    @Test func readFileInputNoticesAFileThatShrank() throws {
        let path = try temporaryFile(patternBytes(5000))
        let input = try ReadFileInput(path: path, pool: MemoryPool())
        let descriptor = try FileDescriptor.open(path, .readWrite)
        defer { try? descriptor.close() }
        try descriptor.truncate(to: 1000)
        let error = #expect(throws: QuiverError.self) { try input.read(at: 500, count: 1000) }
        #expect(error?.code == .io)
    }

    @Test func openingAMissingFileIsAnIOError() throws {
        let path = try TestPaths.temporaryDirectory("quiver-sys").appendingPathComponent("absent.arrow").path
        for open in [{ _ = try ReadFileInput(path: path) }, { _ = try FileDescriptor.open(path, .readOnly) }] {
            let error = #expect(throws: QuiverError.self) { try open() }
            #expect(error?.code == .io)
            #expect(error?.message == "open(\(path)): No such file or directory")
        }
    }

    @Test(.tags(.untrustedInput)) func fileOutputRoundTrip() throws {
        let directory = try TestPaths.temporaryDirectory("quiver-sys")
        let path = directory.appendingPathComponent("out").path
        let pool = MemoryPool()
        let small = patternBytes(1000, seed: 1)
        let large = patternBytes(10_000, seed: 2)
        do {
            let output = try FileOutput(path: path, bufferCapacity: 4096, pool: pool)
            try output.write(small)  // buffered
            #expect(try FileDescriptor.open(path, .readOnly).status().size == 0)
            try output.write(large)  // the 1000 and 7192 more go out together, up to offset 8192
            try output.write(small)
            try output.writeZeros(5)
            #expect(output.position == 12_005)
            #expect(pool.totalAllocatedBytes == 4096)
            try output.sync()
            #expect(try ReadFileInput(path: path).size == 12_005)
            try output.close()
            try output.close()
            #expect(throws: QuiverError.self) { try output.write(small) }
        }
        #expect(pool.totalAllocatedBytes == 0)

        let appended = try FileOutput(path: path, mode: .append)
        #expect(appended.position == 12_005)
        try appended.write([1, 2, 3])
        try appended.close()

        let expected = small + large + small + [0, 0, 0, 0, 0] + [1, 2, 3]
        let input = try ReadFileInput(path: path)
        #expect(try input.read(at: 0, count: input.size).array == expected)

        let truncated = try FileOutput(path: path)
        try truncated.write([9])
        try truncated.close()
        #expect(try MappedFile(path: path).buffer.array == [9])
    }

    /// The file only ever receives whole buffer-aligned stretches (plus what `flush` forces
    /// out), whatever the sizes written — and nothing is lost or reordered on the way.
    @Test(.tags(.untrustedInput)) func fileOutputWritesWholeAlignedStretches() throws {
        let directory = try TestPaths.temporaryDirectory("quiver-sys")
        let capacity = 1024
        for seed in UInt64(1)...20 {
            let path = directory.appendingPathComponent("aligned-\(seed)").path
            var random = seed &* 0x9E37_79B9_7F4A_7C15
            func next(_ bound: Int) -> Int {
                random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return Int(random >> 33) % bound
            }
            let output = try FileOutput(path: path, bufferCapacity: capacity, pool: MemoryPool())
            var expected: [UInt8] = []
            var flushedUpTo = 0
            for step in 0..<40 {
                // Mostly small pieces, sometimes several buffers at once, sometimes nothing.
                let count = next(4) == 0 ? next(5 * capacity) : next(capacity / 3)
                let piece = patternBytes(count, seed: seed << 8 | UInt64(step))
                try output.write(piece)
                expected += piece
                if next(10) == 0 {
                    try output.flush()
                    flushedUpTo = expected.count
                }
                let onDisk = try FileDescriptor.open(path, .readOnly).status().size
                #expect(onDisk == max(flushedUpTo, expected.count - expected.count % capacity), "seed \(seed) step \(step)")
            }
            try output.close()
            #expect(try ReadFileInput(path: path).read(at: 0, count: expected.count).array == expected)
        }
    }

    @Test(.tags(.untrustedInput)) func fileOutputOnADescriptorStartsAtItsPosition() throws {
        let path = try temporaryFile(patternBytes(100))
        let descriptor = try FileDescriptor.open(path, .readWrite)
        try descriptor.seek(to: 40)
        let output = try FileOutput(descriptor: descriptor, closeOnDeinit: true)
        #expect(output.position == 40)
        try output.write([7, 7])
        try output.close()
        #expect(try MappedFile(path: path).buffer.array[38..<44] == ArraySlice(patternBytes(100)[38..<40] + [7, 7] + patternBytes(100)[42..<44]))
    }

    /// Direct reads of unaligned ranges land where the span says, whatever the alignment of
    /// the range ends, the span's start and the memory, up to the file's unaligned end.
    @Test(arguments: [0, 1, 511, 4000])
    func directReadsPlaceEachRangeAtItsOffsetInTheSpan(spanStart: Int) throws {
        let size = 300_000 + 77
        let bytes = patternBytes(size)
        let path = try temporaryFile(bytes)
        let descriptor: FileDescriptor
        do {
            descriptor = try FileDescriptor.open(path, .readOnly, options: .direct)
        } catch {
            return  // a file system without O_DIRECT: the scan reads through the mapping
        }
        defer { try? descriptor.close() }
        let ranges = [spanStart + 3..<spanStart + 1000, spanStart + 9000..<spanStart + 73_001, size - 5000..<size]
        let buffer = try descriptor.readDirect(ranges, span: spanStart..<size)
        #expect(buffer.count == size - spanStart)
        for range in ranges {
            let start = range.lowerBound - spanStart
            #expect(buffer.array[start..<(start + range.count)] == ArraySlice(bytes[range]))
        }
        #expect(throws: QuiverError.self) { try descriptor.readDirect([size - 10..<size + 100], span: 0..<size + 100) }
    }

    @Test func positionedReadsAndWrites() throws {
        let path = try temporaryFile(patternBytes(64))
        let descriptor = try FileDescriptor.open(path, .readWrite)
        defer { try? descriptor.close() }
        try [UInt8]([0xAA, 0xBB, 0xCC]).withUnsafeBytes { try descriptor.writeAll($0, at: 62) }
        let status = try descriptor.status()
        #expect(status.size == 65 && status.isRegularFile)
        var back = [UInt8](repeating: 0, count: 10)
        let count = try back.withUnsafeMutableBytes { try descriptor.pread(fillingUpTo: $0, at: 60) }
        #expect(count == 5)
        #expect(Array(back[2..<5]) == [0xAA, 0xBB, 0xCC])
        #expect(try descriptor.currentPosition() == 0)
    }

    @Test func exclusiveLockConflicts() throws {
        let path = try temporaryFile([1])
        let first = try FileDescriptor.open(path, .readOnly)
        let second = try FileDescriptor.open(path, .readOnly)
        defer { try? first.close(); try? second.close() }
        try first.lockExclusive()
        let error = #expect(throws: QuiverError.self) { try second.lockExclusive() }
        #expect(error?.code == .conflict)
        try first.unlock()
        try second.lockExclusive()
        #expect(throws: QuiverError.self) { try first.lockExclusive() }
    }

    @Test(arguments: [1, 7, 4096, 65_536, 1 << 20])
    func readingAPipeInChunks(chunk: Int) throws {
        let bytes = patternBytes(300_000, seed: UInt64(chunk))
        let pipe = Pipe()
        let writer = Thread {
            // Odd-sized writes, so reads see short counts at arbitrary places.
            var offset = 0
            var size = 1
            while offset < bytes.count {
                let end = min(bytes.count, offset + size)
                pipe.fileHandleForWriting.write(Data(bytes[offset..<end]))
                offset = end
                size = size * 3 % 50_000 + 1
            }
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let pool = MemoryPool()
        let input = FileDescriptorInput(
            descriptor: FileDescriptor(rawValue: pipe.fileHandleForReading.fileDescriptor), pool: pool)
        var received: [UInt8] = []
        while true {
            let piece = try input.read(upTo: chunk)
            if piece.count == 0 { break }
            #expect(piece.count == chunk || received.count + piece.count == bytes.count)
            #expect(piece.isAligned(to: 64))
            received += piece.array
        }
        #expect(received == bytes)
        #expect(input.position == bytes.count)
        #expect(try input.read(upTo: 10).count == 0)
        #expect(pool.totalAllocatedBytes == 0)
    }

    @Test func aShortStreamCostsOnlyWhatItSent() throws {
        let bytes = patternBytes(9 << 20, seed: 3)
        let pipe = Pipe()
        let writer = Thread {
            pipe.fileHandleForWriting.write(Data(bytes))
            try? pipe.fileHandleForWriting.close()
        }
        writer.start()
        let pool = MemoryPool()
        let input = FileDescriptorInput(
            descriptor: FileDescriptor(rawValue: pipe.fileHandleForReading.fileDescriptor), pool: pool)
        // Asks for far more than arrives: the allocation grows with the data, never to 1 GiB.
        let all = try input.read(upTo: 1 << 30)
        #expect(all.contentEquals(Buffer(copying: bytes, pool: MemoryPool())))
        #expect(pool.totalAllocatedBytes == 9 << 20)
        #expect(pool.peakAllocatedBytes <= 3 * (9 << 20))
    }

    @Test func processMemoryFigures() throws {
        let resident = try MemoryUsage.residentSetBytes()
        let peak = try MemoryUsage.peakResidentSetBytes()
        #expect(resident > 1 << 20)
        #expect(peak >= resident / 2)
        #expect(MemoryUsage.pageSize >= 4096 && MemoryUsage.pageSize & (MemoryUsage.pageSize - 1) == 0)
        let written = Buffer(copying: patternBytes(1 << 20))
        #expect(try MemoryUsage.residentBytes(of: written) == 1 << 20)
        #expect(try MemoryUsage.residentBytes(of: .empty) == 0)
    }
}
