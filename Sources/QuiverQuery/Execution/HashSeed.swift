/// The seed of the query engine's in-memory hashes (group and distinct tables, value sets,
/// small-domain numbering, partitioning and the sketches built from the same hashes): drawn
/// once per process from the system's random source.
///
/// Why: the tables use open addressing with linear probing, so keys that all share a home
/// slot make interning quadratic — a file crafted that way would hang a GROUP BY. With a seed
/// no one outside the process knows, such keys cannot be computed offline.
///
/// Results never depend on it (ids follow first appearance, partitions merge in batch order).
/// Never hash with it what outlives the process or is compared with another one: the store's
/// checksums (`XXHash64` in QuiverStore) stay unseeded for that reason.
struct HashSeed: Sendable, Equatable {
    /// Mixed into a hash's starting state.
    let first: UInt64
    /// Mixed into a second word where a hash takes two (a packed key's high word, the
    /// second word of each 16 bytes of a byte key).
    let second: UInt64

    /// This process's seed. Every read is a call (the lazy global's once-check, which the
    /// optimiser does not hoist out of loops): a table or a batch reads it once and passes it
    /// down, never per key.
    static let process: HashSeed = {
        var random = SystemRandomNumberGenerator()
        return HashSeed(first: random.next(), second: random.next())
    }()

    private init(first: UInt64, second: UInt64) {
        self.first = first
        self.second = second
    }

    /// A chosen seed, for tests that compare hashes under two seeds (the engine only ever
    /// uses `process`).
    init(forTesting first: UInt64, _ second: UInt64) { self.init(first: first, second: second) }
}

/// The fold of a 128-bit product, high word xor low word: each output bit depends on every
/// input bit, and no difference between two inputs survives it with certainty (a plain
/// multiply carries a difference in the top bit straight through, which would let long keys
/// collide whatever the seed).
@inline(__always)
func foldedMultiply(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (high, low) = a.multipliedFullWidth(by: b)
    return high ^ low
}
