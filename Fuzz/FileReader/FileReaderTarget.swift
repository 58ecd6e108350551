import QuiverFuzzSupport
import QuiverTestSupport

/// Fuzzes the IPC file reader: footer, dictionaries and every batch by index (a bad batch
/// does not stop the others), each formatted value by value and written as integration JSON.
@main enum FileReaderTarget {
    static func main() {
        Fuzz.run { data, size in
            CorpusReplay.touch(CorpusReplay.readFile(Fuzz.buffer(data, size)).batches)
            return 0
        }
    }
}
