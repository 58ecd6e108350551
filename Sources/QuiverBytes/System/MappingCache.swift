#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A file and the version of it that was seen: device and inode name the file, size and
/// modification time its contents. Two opens with equal identities see the same bytes
/// (barring writes that keep both size and nanosecond mtime, which a mapping would show
/// anyway: a mapping is a view of the page cache, not a copy).
public struct FileIdentity: Sendable, Hashable {
    /// The device holding the file (`st_dev`).
    public var device: UInt64
    /// The file's inode on that device (`st_ino`).
    public var inode: UInt64
    /// The size when seen.
    public var size: Int
    /// The modification time when seen: whole seconds since the epoch,
    public var modifiedSeconds: Int
    /// and its nanoseconds.
    public var modifiedNanoseconds: Int

    init(_ raw: stat) {
        device = UInt64(truncatingIfNeeded: raw.st_dev)
        inode = UInt64(truncatingIfNeeded: raw.st_ino)
        size = Int(raw.st_size)
        #if canImport(Darwin)
        modifiedSeconds = Int(raw.st_mtimespec.tv_sec)
        modifiedNanoseconds = Int(raw.st_mtimespec.tv_nsec)
        #else
        modifiedSeconds = Int(raw.st_mtim.tv_sec)
        modifiedNanoseconds = Int(raw.st_mtim.tv_nsec)
        #endif
    }

    /// The identity of whatever is at `path` now, or nil if nothing is (`stat(2)`).
    public static func current(path: String) -> FileIdentity? {
        var raw = stat()
        return system_stat(path, &raw) == 0 ? FileIdentity(raw) : nil
    }
}

/// Memory maps kept for reuse: opening a file that this process has mapped before, and that
/// has not changed since, returns the existing mapping instead of making a new one.
///
/// Why: a fresh mapping starts with no page-table entries, so every first touch of a page is
/// a fault — even when the file is entirely in the page cache: a new mapping costs one
/// page-table entry per touched page, in kernel time, and the `munmap` undoes them again; a
/// service that queries the same files over and over pays that on every query. A reused
/// mapping keeps its entries, so warm queries run at memory speed.
///
/// What it costs: cached mappings stay mapped after the readers are gone, so their touched
/// pages count in the process's resident set (they are page cache: shared and reclaimable,
/// never allocated), and a deleted file's space is held until its entry goes. Entries are
/// keyed by `FileIdentity` and dropped when the path no longer names that version of the
/// file (checked at every lookup), when more than `capacity` files are cached (least
/// recently used first), or by `removeAll()`/`remove(path:)`.
public final class MappingCache: Sendable {
    /// The cache `FileSource.sharedMemoryMap` readers (and the query engine's file sources) use.
    public static let shared = MappingCache(capacity: 32)

    private struct Entry {
        var path: String
        var mapping: MappedFile
        var lastUse: UInt64
    }

    private struct State {
        var entries: [FileIdentity: Entry] = [:]
        var clock: UInt64 = 0
    }

    /// The most files kept mapped at once.
    public let capacity: Int
    private let state = Mutex(State())

    /// An empty cache keeping at most `capacity` mappings.
    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// A mapping of the file open at `descriptor` (whose path is `path`): the cached one if
    /// this version of the file is mapped already, else a new one, remembered. Costs one
    /// `fstat` plus one `stat` per cached entry (to drop files that were replaced or removed);
    /// a miss also maps the file (`MappedFile(descriptor:)`).
    public func mapping(path: String, descriptor: FileDescriptor) throws -> MappedFile {
        let identity = try descriptor.status().identity
        if let hit = state.withLock({ state -> MappedFile? in
            Self.dropStale(&state)
            guard var entry = state.entries[identity] else { return nil }
            state.clock += 1
            entry.lastUse = state.clock
            state.entries[identity] = entry
            return entry.mapping
        }) {
            return hit
        }
        let mapping = try MappedFile(descriptor: descriptor)
        // Files that change while being mapped are not remembered: their identity is stale.
        guard capacity > 0, (try? descriptor.status().identity) == identity else { return mapping }
        return state.withLock { state in
            if let raced = state.entries[identity] { return raced.mapping }
            state.clock += 1
            state.entries[identity] = Entry(path: path, mapping: mapping, lastUse: state.clock)
            while state.entries.count > capacity,
                let oldest = state.entries.min(by: { $0.value.lastUse < $1.value.lastUse })?.key
            {
                state.entries[oldest] = nil
            }
            return mapping
        }
    }

    /// How many files are mapped here now.
    public var count: Int { state.withLock { $0.entries.count } }

    /// Forgets every mapping (each is unmapped once no buffer views it any more).
    public func removeAll() {
        state.withLock { $0.entries.removeAll() }
    }

    /// Forgets the mappings of `path` (e.g. before deleting or rewriting the file).
    /// O(entries).
    public func remove(path: String) {
        state.withLock { state in state.entries = state.entries.filter { $0.value.path != path } }
    }

    /// Drops entries whose path now names another file or another version, or nothing.
    private static func dropStale(_ state: inout State) {
        for (identity, entry) in state.entries where FileIdentity.current(path: entry.path) != identity {
            state.entries[identity] = nil
        }
    }
}
