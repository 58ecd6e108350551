// The system layer, bottom half: the only file in Quiver that calls the C library for files,
// mappings and process memory. Modelled on swift-system's three layers:
//
//   1. `system_*` — a thin shim, one line per call, returning what the C call returns;
//   2. `valueOrErrno` — turns the `-1`/`errno` convention into a `Result`, retrying `EINTR`;
//   3. the public throwing API (`FileDescriptor`, `MappedFile`, the file inputs/outputs,
//      `MemoryUsage`) built on the two, in the other files of this folder.
//
// Keeping the shim separate keeps every `errno` read right next to the call that set it.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Shim

@inline(__always)
func system_open(_ path: UnsafePointer<CChar>, _ flags: CInt, _ mode: mode_t) -> CInt {
    open(path, flags, mode)
}

@inline(__always)
func system_close(_ fd: CInt) -> CInt { close(fd) }

/// `O_DIRECT`, which Glibc's Swift module does not export (it sits behind `_GNU_SOURCE`).
#if os(Linux) && (arch(arm64) || arch(powerpc64le))
let system_O_DIRECT: CInt = 0o200000
#elseif os(Linux)
let system_O_DIRECT: CInt = 0o40000
#else
let system_O_DIRECT: CInt = 0
#endif

@inline(__always)
func system_isatty(_ fd: CInt) -> CInt { isatty(fd) }

@inline(__always)
func system_read(_ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    read(fd, buffer, count)
}

@inline(__always)
func system_pread(_ fd: CInt, _ buffer: UnsafeMutableRawPointer?, _ count: Int, _ offset: Int) -> Int {
    pread(fd, buffer, count, off_t(offset))
}

@inline(__always)
func system_write(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    write(fd, buffer, count)
}

@inline(__always)
func system_writev(_ fd: CInt, _ vectors: UnsafePointer<iovec>, _ count: CInt) -> Int {
    writev(fd, vectors, count)
}

@inline(__always)
func system_pwritev(_ fd: CInt, _ vectors: UnsafePointer<iovec>, _ count: CInt, _ offset: Int) -> Int {
    pwritev(fd, vectors, count, off_t(offset))
}

@inline(__always)
func system_pwrite(_ fd: CInt, _ buffer: UnsafeRawPointer?, _ count: Int, _ offset: Int) -> Int {
    pwrite(fd, buffer, count, off_t(offset))
}

@inline(__always)
func system_lseek(_ fd: CInt, _ offset: Int, _ whence: CInt) -> Int {
    Int(lseek(fd, off_t(offset), whence))
}

@inline(__always)
func system_fstat(_ fd: CInt, _ status: UnsafeMutablePointer<stat>) -> CInt { fstat(fd, status) }

@inline(__always)
func system_ftruncate(_ fd: CInt, _ size: Int) -> CInt { ftruncate(fd, off_t(size)) }

@inline(__always)
func system_fsync(_ fd: CInt) -> CInt { fsync(fd) }

@inline(__always)
func system_flock(_ fd: CInt, _ operation: CInt) -> CInt { flock(fd, operation) }

#if os(Linux)
/// `fallocate(2)`, which Glibc declares only for `_GNU_SOURCE`, so Swift cannot see it:
/// looked up once by name. Nil where the C library lacks it.
private let fallocateFunction: (@convention(c) (CInt, CInt, off_t, off_t) -> CInt)? = {
    guard let symbol = dlsym(nil, "fallocate") else { return nil }
    return unsafeBitCast(symbol, to: (@convention(c) (CInt, CInt, off_t, off_t) -> CInt).self)
}()

/// `fallocate(fd, FALLOC_FL_KEEP_SIZE, offset, count)`; -1 with `ENOSYS` without it.
@inline(__always)
func system_reserve(_ fd: CInt, _ offset: Int, _ count: Int) -> CInt {
    guard let call = fallocateFunction else {
        errno = ENOSYS
        return -1
    }
    return call(fd, 1 /* FALLOC_FL_KEEP_SIZE */, off_t(offset), off_t(count))
}
#endif

#if os(Linux)
/// `posix_fadvise`, which returns the error number instead of setting `errno`.
@inline(__always)
func system_fadvise(_ fd: CInt, _ offset: Int, _ count: Int, _ advice: CInt) -> CInt {
    posix_fadvise(fd, off_t(offset), off_t(count), advice)
}
#endif

/// `mmap`, returning the address as an integer so `MAP_FAILED` is the usual `-1`.
@inline(__always)
func system_mmap(_ length: Int, _ protection: CInt, _ flags: CInt, _ fd: CInt) -> Int {
    Int(bitPattern: mmap(nil, length, protection, flags, fd, 0))
}

@inline(__always)
func system_munmap(_ address: UnsafeMutableRawPointer, _ length: Int) -> CInt { munmap(address, length) }

@inline(__always)
func system_madvise(_ address: UnsafeMutableRawPointer, _ length: Int, _ advice: CInt) -> CInt {
    madvise(address, length, advice)
}

/// `madvise(MADV_HUGEPAGE)` over the whole 2 MiB pages inside `[address, address + count)`
/// of a heap allocation. Advice only: errors (e.g. THP disabled) are ignored; a no-op where
/// transparent huge pages do not exist.
func system_adviseHugePages(_ address: UnsafeMutableRawPointer, _ count: Int) {
    #if os(Linux)
    let huge = 2 << 20
    let start = alignUp(Int(bitPattern: address), to: huge)
    let end = (Int(bitPattern: address) + count) & ~(huge - 1)
    guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
    _ = madvise(aligned, end - start, MADV_HUGEPAGE)
    #endif
}

@inline(__always)
func system_mincore(_ address: UnsafeMutableRawPointer, _ length: Int, _ vector: UnsafeMutablePointer<UInt8>) -> CInt {
    #if canImport(Darwin)
    mincore(address, length, UnsafeMutableRawPointer(vector).assumingMemoryBound(to: CChar.self))
    #else
    mincore(address, length, vector)
    #endif
}

@inline(__always)
func system_pageSize() -> Int { Int(sysconf(CInt(_SC_PAGESIZE))) }

/// `getrusage(RUSAGE_SELF)`: the process's own resource use (page faults, CPU time).
@inline(__always)
func system_getrusage(_ usage: UnsafeMutablePointer<rusage>) -> CInt {
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), usage)
    #else
    getrusage(RUSAGE_SELF, usage)
    #endif
}

@inline(__always)
func system_mkdir(_ path: UnsafePointer<CChar>, _ mode: mode_t) -> CInt { mkdir(path, mode) }

@inline(__always)
func system_rename(_ from: UnsafePointer<CChar>, _ to: UnsafePointer<CChar>) -> CInt { rename(from, to) }

@inline(__always)
func system_unlink(_ path: UnsafePointer<CChar>) -> CInt { unlink(path) }

@inline(__always)
func system_rmdir(_ path: UnsafePointer<CChar>) -> CInt { rmdir(path) }

@inline(__always)
func system_stat(_ path: UnsafePointer<CChar>, _ status: UnsafeMutablePointer<stat>) -> CInt { stat(path, status) }

/// The names in a directory (without `.` and `..`), or the `errno` of `opendir`.
func system_listDirectory(_ path: String) -> Result<[String], Errno> {
    guard let directory = opendir(path) else { return .failure(Errno(system_errno())) }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        if name != "." && name != ".." { names.append(name) }
    }
    return .success(names)
}

/// Opens a directory for `fsync` (`O_RDONLY | O_DIRECTORY`).
@inline(__always)
func system_openDirectory(_ path: UnsafePointer<CChar>) -> CInt { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }

@inline(__always)
func system_usleep(_ microseconds: UInt32) -> CInt { usleep(microseconds) }

@inline(__always)
func system_errno() -> CInt { errno }

// MARK: - valueOrErrno

extension QuiverError {
    /// Whether this is an I/O error for a full disk or an exhausted quota (`ENOSPC`, `EDQUOT`).
    public var isOutOfSpace: Bool { code == .io && (errno == ENOSPC || errno == EDQUOT) }
}

/// An `errno` value captured right after the call that set it.
struct Errno: Error, Equatable {
    let rawValue: CInt
    init(_ rawValue: CInt) { self.rawValue = rawValue }

    static let interrupted = Errno(EINTR)
    static let wouldBlock = Errno(EWOULDBLOCK)
    static let illegalSeek = Errno(ESPIPE)
    static let noEntry = Errno(ENOENT)
    static let exists = Errno(EEXIST)

    /// The C library's text for this error.
    var text: String { String(cString: strerror(rawValue)) }

    /// The error Quiver throws for it: `.io` with the message `call(subject): text`.
    func quiverError(_ call: String, _ subject: String) -> QuiverError {
        QuiverError(.io, "\(call)(\(subject)): \(text)", errno: rawValue)
    }
}

/// Runs a system call that returns `-1` and sets `errno` on failure, retrying while it is
/// interrupted by a signal (`EINTR`).
@inline(__always)
func valueOrErrno<I: FixedWidthInteger>(retryOnInterrupt: Bool = true, _ call: () -> I) -> Result<I, Errno> {
    while true {
        let value = call()
        if value != -1 { return .success(value) }
        let error = Errno(system_errno())
        if retryOnInterrupt && error == .interrupted { continue }
        return .failure(error)
    }
}

extension Result where Failure == Errno {
    /// The value, or a `QuiverError(.io, "call(subject): strerror")`.
    @inline(__always)
    func get(_ call: String, _ subject: @autoclosure () -> String) throws -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let error): throw error.quiverError(call, subject())
        }
    }
}
