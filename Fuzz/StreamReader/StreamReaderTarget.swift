import QuiverFuzzSupport
import QuiverTestSupport

/// Fuzzes the IPC stream reader: every batch it returns is formatted value by value and
/// written as integration JSON; a typed error ends the input. Anything else (a trap, an ASan
/// report, a hang) is a finding.
@main enum StreamReaderTarget {
    static func main() {
        Fuzz.run { data, size in
            CorpusReplay.touch(CorpusReplay.readStream(Fuzz.buffer(data, size)).batches)
            return 0
        }
    }
}
