import CFuzzDriver
import Glibc
import QuiverBytes

/// The libFuzzer entry shared by the fuzz targets. What a target does with an input lives in
/// QuiverTestSupport's `CorpusReplay`, which the regression tests replay with.
public enum Fuzz {
    /// One fuzz input: libFuzzer's bytes. Returns 0 (libFuzzer ignores other values).
    public typealias Target = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

    /// Hands the process to libFuzzer with `target`; exits with its status.
    public static func run(_ target: Target) -> Never {
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, target))
    }

    /// The input as a heap buffer (a copy, so the reader may keep slices of it).
    public static func buffer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Buffer {
        guard let data, size > 0 else { return Buffer(copying: [UInt8]()) }
        return Buffer(copying: Array(UnsafeBufferPointer(start: data, count: size)))
    }
}
