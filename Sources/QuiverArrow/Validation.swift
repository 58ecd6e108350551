import QuiverBytes

extension ArrayData {
    /// Checks that this array (and its children and dictionary) obeys the Arrow columnar
    /// format so every accessor reads in bounds. `full: false` does the O(1)-per-buffer
    /// checks (buffer sizes against lengths); `full: true` also the O(data) ones (offsets
    /// monotonic and in range, utf8, dictionary indices, union type ids, run ends).
    public func validate(full: Bool = true) throws {
        // pending: lands in the arrays step
    }
}
