import Testing

extension Tag {
    /// Tests that feed Quiver hostile or malformed bytes, or exercise the code that reads
    /// raw memory (mappings, decompression, positioned I/O): the suite `make test-asan` runs
    /// under AddressSanitizer. `scripts/tagged-tests.py untrustedInput` turns the tag into
    /// the `swift test --filter` that selects them, since `--filter` cannot match tags.
    @Tag public static var untrustedInput: Self
}
