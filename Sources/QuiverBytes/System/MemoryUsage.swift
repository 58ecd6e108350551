#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How much memory is resident in RAM: for the whole process, or for one buffer's pages.
///
/// A different question from `MemoryPool.totalAllocatedBytes` (bytes Quiver allocated):
/// mapped files are resident only where touched, and allocations only where written.
/// Process figures come from Linux's `/proc/self`; elsewhere they throw `.unsupported`.
public enum MemoryUsage {
    /// The virtual-memory page size (`sysconf(_SC_PAGESIZE)`), read once.
    public static let pageSize: Int = system_pageSize()

    /// The process's resident set size in bytes now (`/proc/self/statm`: resident pages ×
    /// page size). One small file read.
    public static func residentSetBytes() throws -> Int {
        let fields = try procFile("/proc/self/statm").split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else {
            throw QuiverError(.io, "read(/proc/self/statm): unexpected contents")
        }
        return pages * pageSize
    }

    /// The highest resident set size the process has reached, in bytes (`VmHWM` in
    /// `/proc/self/status`). One small file read.
    public static func peakResidentSetBytes() throws -> Int {
        let text = try procFile("/proc/self/status")
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            // "VmHWM:\t    12345 kB"
            let parts = line.dropFirst("VmHWM:".count).split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count == 2, parts[1] == "kB", let kilobytes = Int(parts[0]) {
                return kilobytes * 1024
            }
        }
        throw QuiverError(.io, "read(/proc/self/status): no VmHWM line")
    }

    /// Bytes this process has caused to be read from storage so far (`read_bytes` in
    /// `/proc/self/io`): reads, faults on mapped files and the read-ahead they start — what a
    /// query really cost in I/O, unlike the bytes it viewed. Page-cache hits count nothing.
    /// One small file read; Linux only (`.unsupported` elsewhere, or where the kernel keeps
    /// no I/O accounting).
    public static func storageReadBytes() throws -> Int {
        let text = try procFile("/proc/self/io")
        for line in text.split(separator: "\n") where line.hasPrefix("read_bytes:") {
            if let field = line.split(separator: " ").last, let bytes = Int(field) { return bytes }
        }
        throw QuiverError(.unsupported, "read(/proc/self/io): no read_bytes line")
    }

    /// Page faults this process has taken that had to wait for storage (`ru_majflt` of
    /// `getrusage`): touches of mapped pages that were not in the page cache. A scan whose
    /// reads were requested ahead of it takes few.
    public static func majorFaults() throws -> Int {
        var usage = rusage()
        _ = try valueOrErrno { system_getrusage(&usage) }.get("getrusage", "self")
        return Int(usage.ru_majflt)
    }

    /// How many of `buffer`'s bytes lie on pages resident in RAM now (`mincore(2)` over
    /// the pages the buffer spans). Works for mapped and heap buffers alike.
    /// O(pages spanned): one byte of scratch per page, in bounded chunks.
    public static func residentBytes(of buffer: Buffer) throws -> Int {
        try residentBytes(address: buffer.baseAddress, count: buffer.count)
    }

    /// The bytes of `[address, address + count)` on resident pages. The range must lie in
    /// mapped memory (`mincore` fails with `ENOMEM` otherwise). Asks the kernel about at most
    /// `chunkPages` pages at a time, so the scratch vector stays small.
    static func residentBytes(address: UnsafeRawPointer, count: Int) throws -> Int {
        var resident = 0
        try forEachPage(address: address, count: count) { part, isResident in if isResident { resident += part.count } }
        return resident
    }

    /// The parts of `[address, address + count)` on pages not resident, as offsets from
    /// `address`, in order, adjacent parts joined. The same requirements as `residentBytes`.
    static func nonResidentParts(address: UnsafeRawPointer, count: Int) throws -> [Range<Int>] {
        var parts: [Range<Int>] = []
        try forEachPage(address: address, count: count) { part, isResident in
            guard !isResident else { return }
            if let last = parts.last, last.upperBound == part.lowerBound {
                parts[parts.count - 1] = last.lowerBound..<part.upperBound
            } else {
                parts.append(part)
            }
        }
        return parts
    }

    /// Calls `body` with each page's part of `[address, address + count)` (as offsets from
    /// `address`) and whether the page is resident (`mincore`), in order, at most
    /// `chunkPages` pages a call.
    private static func forEachPage(address: UnsafeRawPointer, count: Int, _ body: (Range<Int>, Bool) -> Void) throws {
        guard count > 0 else { return }
        let start = Int(bitPattern: address)
        let end = start + count
        let chunkPages = 4096
        var vector = [UInt8](repeating: 0, count: chunkPages)
        var page = start & ~(pageSize - 1)
        while page < end {
            let pages = min(chunkPages, (end - page + pageSize - 1) / pageSize)
            let pageAddress = UnsafeMutableRawPointer(bitPattern: page)
            guard let pageAddress else { throw QuiverError(.invalidArgument, "mincore: null address") }
            try vector.withUnsafeMutableBufferPointer { flags in
                guard let flagsStart = flags.baseAddress else { return }
                _ = try valueOrErrno { system_mincore(pageAddress, pages * pageSize, flagsStart) }
                    .get("mincore", "\(pages) pages at 0x\(String(page, radix: 16))")
            }
            for index in 0..<pages {
                // Only the part of this page inside [start, end).
                let pageStart = page + index * pageSize
                body((max(start, pageStart) - start)..<(min(end, pageStart + pageSize) - start), vector[index] & 1 != 0)
            }
            page += pages * pageSize
        }
    }

    /// How many bytes of `mapping` are mapped into this process's resident set now: the `Rss`
    /// of its entries in `/proc/self/smaps` (`madvise` may split one mapping into several).
    /// Unlike `residentBytes(of:)` — `mincore`, which reports the page cache shared by every
    /// process — this drops when `MADV_DONTNEED` unmaps pages. Reads all of smaps (tens of
    /// KiB): for reports and tests, not hot paths. Linux only.
    public static func mappedResidentBytes(of mapping: MemoryMapping) throws -> Int {
        try mappedResidentBytes(of: [mapping])
    }

    /// Resident bytes of every mapping Quiver holds now (readers, snapshots, `MappingCache`),
    /// from one read of `/proc/self/smaps`. Linux only.
    public static func mappedResidentBytes() throws -> Int {
        try mappedResidentBytes(of: MemoryMapping.live())
    }

    /// Bytes mapped by every mapping Quiver holds now (resident or not). O(live mappings).
    public static var mappedBytes: Int { MemoryMapping.live().reduce(0) { $0 + $1.length } }

    /// The resident bytes of `mappings`, summed over one read of smaps.
    private static func mappedResidentBytes(of mappings: [MemoryMapping]) throws -> Int {
        #if os(Linux)
        let ranges = mappings.map { mapping -> Range<UInt> in
            let start = UInt(bitPattern: Int(bitPattern: mapping.address))
            return start..<(start + UInt(mapping.length))
        }
        guard !ranges.isEmpty else { return 0 }
        let descriptor = try FileDescriptor.open("/proc/self/smaps", .readOnly)
        defer { try? descriptor.close() }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while case let count = try chunk.withUnsafeMutableBytes({ try descriptor.read(into: $0) }), count > 0 {
            bytes += chunk[..<count]
        }
        var inside = false
        var total = 0
        for line in String(decoding: bytes, as: UTF8.self).split(separator: "\n") {
            // An entry starts "7f12a000-7f12b000 r--p …", then lines such as "Rss:   48 kB".
            if let dash = line.firstIndex(of: "-"), let low = UInt(line[..<dash], radix: 16) {
                inside = ranges.contains { $0.contains(low) }
            } else if inside, line.hasPrefix("Rss:") {
                total += (line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
            }
        }
        return total
        #else
        throw QuiverError(.unsupported, "/proc/self/smaps exists only on Linux")
        #endif
    }

    /// Bytes of file pages this process can keep in the page cache before the kernel must
    /// reclaim some: the system's `MemAvailable`, and under a memory cgroup (v1 or v2) its
    /// limit less the group's anonymous memory, whichever is smaller (v1's
    /// `hierarchical_memory_limit` covers the ancestors; under v2 every ancestor's
    /// `memory.max` is read). Read now: it changes as other processes allocate. A few small
    /// file reads; Linux only (`.unsupported` elsewhere).
    public static func cacheableBytes() throws -> Int {
        var available = Int.max
        for line in try procFile("/proc/meminfo").split(separator: "\n") where line.hasPrefix("MemAvailable:") {
            // "MemAvailable:   23456789 kB"
            if let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) { available = kilobytes * 1024 }
        }
        for line in (try? procFile("/proc/self/cgroup"))?.split(separator: "\n") ?? [] {
            // v1: "7:memory:/group" (or "7:cpu,memory:/group"); v2: "0::/group".
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = parts[2] == "/" ? "" : String(parts[2])
            if parts[1].split(separator: ",").contains("memory") {
                let stat = statFields("/sys/fs/cgroup/memory\(path)/memory.stat")
                if let limit = stat["hierarchical_memory_limit"] {
                    available = min(available, limit - (stat["total_rss"] ?? 0))
                }
            } else if parts[0] == "0", parts[1].isEmpty {
                var group = path
                while !group.isEmpty {
                    if let text = try? procFile("/sys/fs/cgroup\(group)/memory.max"),
                        let limit = text.split(whereSeparator: \.isWhitespace).first.flatMap({ Int($0) }) {
                        let anonymous = statFields("/sys/fs/cgroup\(group)/memory.stat")["anon"] ?? 0
                        available = min(available, limit - anonymous)
                    }
                    group = String(group[..<(group.lastIndex(of: "/") ?? group.startIndex)])
                }
            }
        }
        return max(0, available)
    }

    /// The "name value" lines of a cgroup `memory.stat` file; empty if it cannot be read.
    private static func statFields(_ path: String) -> [Substring: Int] {
        var fields: [Substring: Int] = [:]
        for line in (try? procFile(path))?.split(separator: "\n") ?? [] {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = Int(parts[1]) { fields[parts[0]] = value }
        }
        return fields
    }

    /// The text of a small `/proc` file (read whole; they are a few hundred bytes).
    private static func procFile(_ path: String) throws -> Substring {
        #if os(Linux)
        let descriptor = try FileDescriptor.open(path, .readOnly)
        defer { try? descriptor.close() }
        var bytes = [UInt8](repeating: 0, count: 8192)
        let count = try bytes.withUnsafeMutableBytes { try descriptor.read(fillingUpTo: $0) }
        return String(decoding: bytes[..<count], as: UTF8.self)[...]
        #else
        throw QuiverError(.unsupported, "\(path) exists only on Linux")
        #endif
    }
}
