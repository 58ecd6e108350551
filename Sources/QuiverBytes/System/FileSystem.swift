#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Paths and directories: the few calls a store of files needs (create, list, rename,
/// remove, make a rename durable), on the shim of Syscalls.swift.
///
/// Failures throw `QuiverError(.io, "call(path): strerror")`, except a missing path, which
/// throws `.notFound` so callers can tell "gone" (e.g. replaced by a compaction) from broken.
public enum FileSystem {
    /// Whether something exists at `path` (`stat(2)`; false also when it cannot be reached).
    public static func exists(_ path: String) -> Bool {
        var raw = stat()
        return system_stat(path, &raw) == 0
    }

    /// Whether `path` is a directory.
    public static func isDirectory(_ path: String) -> Bool {
        var raw = stat()
        return system_stat(path, &raw) == 0 && raw.st_mode & S_IFMT == S_IFDIR
    }

    /// Creates a directory (`mkdir(2)`). With `ifMissing`, an existing directory is not an error.
    public static func createDirectory(_ path: String, ifMissing: Bool = true, permissions: UInt32 = 0o755) throws {
        switch valueOrErrno({ system_mkdir(path, mode_t(permissions)) }) {
        case .success: return
        case .failure(let error) where error == .exists && ifMissing && isDirectory(path): return
        case .failure(let error): throw error.fileSystemError("mkdir", path)
        }
    }

    /// The names in a directory, without `.` and `..`, in no particular order.
    /// O(entries).
    public static func contentsOfDirectory(_ path: String) throws -> [String] {
        try system_listDirectory(path).get("opendir", path, mapping: .noEntry)
    }

    /// Renames `source` to `destination` atomically (`rename(2)`), replacing any file there.
    /// Durable only once the directory is synced (`syncDirectory`).
    public static func rename(_ source: String, to destination: String) throws {
        _ = try valueOrErrno { system_rename(source, destination) }.get("rename", "\(source) → \(destination)", mapping: .noEntry)
    }

    /// Removes a file (`unlink(2)`). With `ifExists`, a missing file is not an error.
    public static func removeFile(_ path: String, ifExists: Bool = true) throws {
        switch valueOrErrno({ system_unlink(path) }) {
        case .success: return
        case .failure(let error) where error == .noEntry && ifExists: return
        case .failure(let error): throw error.fileSystemError("unlink", path)
        }
    }

    /// Removes an empty directory (`rmdir(2)`).
    public static func removeDirectory(_ path: String) throws {
        _ = try valueOrErrno { system_rmdir(path) }.get("rmdir", path, mapping: .noEntry)
    }

    /// Waits until the directory's entries (creations, renames, removals) reach the disk:
    /// `fsync` on the directory itself. Slow: a device flush.
    public static func syncDirectory(_ path: String) throws {
        let fd = try valueOrErrno { system_openDirectory(path) }.get("open", path, mapping: .noEntry)
        let descriptor = FileDescriptor(rawValue: fd, path: path)
        defer { try? descriptor.close() }
        try descriptor.sync()
    }

    /// Blocks the calling thread for about `microseconds` (`usleep(3)`): for short backoffs
    /// while another process finishes a write.
    public static func sleep(microseconds: Int) {
        _ = system_usleep(UInt32(clamping: max(0, microseconds)))
    }

    /// `directory/name`, with exactly one separator.
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

extension Errno {
    /// `.notFound` for a missing path, otherwise the usual `.io` error.
    func fileSystemError(_ call: String, _ subject: String) -> QuiverError {
        self == .noEntry ? QuiverError(.notFound, "\(call)(\(subject)): \(text)") : quiverError(call, subject)
    }
}

extension Result where Failure == Errno {
    /// The value, or the error for `call(subject)`; `mapping: .noEntry` reports a missing
    /// path as `.notFound`.
    func get(_ call: String, _ subject: @autoclosure () -> String, mapping: Errno) throws -> Success {
        switch self {
        case .success(let value): return value
        case .failure(let error) where error == mapping: throw error.fileSystemError(call, subject())
        case .failure(let error): throw error.quiverError(call, subject())
        }
    }
}
