import Glibc
import QuiverFuzzSupport
import QuiverTestSupport

/// Fuzzes a store file's check and recovery as `quiver check` / `quiver repair` run them
/// (`StoreFileReplay`): the input is written to a file, checked, repaired when its footer is
/// unusable, checked again, and whatever then reads is formatted value by value.
@main enum StoreFileTarget {
    /// One file per process, rewritten for each input (tmpfs when there is one).
    nonisolated(unsafe) static var path = ""

    static func main() {
        let directory = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        path = "\(directory)/quiver-fuzz-store-\(getpid()).arrow"
        Fuzz.run { data, size in
            StoreFileTarget.write(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
            _ = StoreFileReplay.run(path: StoreFileTarget.path)
            unlink(StoreFileTarget.path)  // nothing left behind when libFuzzer exits
            return 0
        }
    }

    /// Replaces the file with `bytes`.
    static func write(_ bytes: UnsafeRawBufferPointer) {
        unlink(path)
        let descriptor = open(path, O_CREAT | O_EXCL | O_WRONLY, 0o600)
        guard descriptor >= 0 else { fatalError("cannot create \(path): errno \(errno)") }
        if let base = bytes.baseAddress, bytes.count > 0 {
            guard Glibc.write(descriptor, base, bytes.count) == bytes.count else { fatalError("short write to \(path)") }
        }
        close(descriptor)
    }
}
