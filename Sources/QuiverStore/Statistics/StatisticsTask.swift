import Dispatch
import QuiverArrow
import Synchronization

/// A batch's statistics — and, given the file's statistics encoder, the footer's statistics
/// text with them — computed by the appending thread and a helper thread together while the
/// batch is written.
///
/// The helper takes the columns one at a time, then the text. The appending thread, once
/// its write is done, takes every column the helper has not taken and then computes again
/// whatever the helper has not finished: it never waits for the helper, so a helper that a
/// busy machine delays or preempts costs that work twice, not a stall. Everything computed
/// is a pure function of the batch (and the encoder's copy), so doing it twice is harmless.
final class StatisticsTask: Sendable {
    private struct State {
        /// The next column nobody has taken.
        var next = 0
        /// Each column's statistics, once computed (by either thread).
        var columns: [ColumnStatistics?]
        /// The encoder with this batch appended, and its text (the helper's, once done).
        var encoded: (encoder: StatisticsEncoder, text: String)?
        /// The appending thread has taken over: the helper starts nothing more.
        var finished = false
    }

    private let batch: RecordBatch
    private let prefixLength: Int
    private let minMax: Bool
    private let encoder: StatisticsEncoder?
    private let state: Mutex<State>

    /// The statistics of `batch`, and with `encoder` (the file's encoder before this batch)
    /// the encoder with them and its text.
    init(batch: RecordBatch, prefixLength: Int, minMax: Bool, encoder: StatisticsEncoder?) {
        self.batch = batch
        self.prefixLength = prefixLength
        self.minMax = minMax
        self.encoder = encoder
        state = Mutex(State(columns: Array(repeating: nil, count: batch.numColumns)))
    }

    /// Lets a thread of the global pool help.
    func offer() {
        DispatchQueue.global(qos: .userInitiated).async { [self] in help() }
    }

    private func column(_ index: Int) -> ColumnStatistics {
        StatisticsCollector.column(batch.columns[index], prefixLength: prefixLength, minMax: minMax)
    }

    private func help() {
        while let index = state.withLock({ state -> Int? in
            guard !state.finished, state.next < state.columns.count else { return nil }
            defer { state.next += 1 }
            return state.next
        }) {
            let result = column(index)
            state.withLock { $0.columns[index] = result }
        }
        guard var encoder else { return }
        let columns = state.withLock { $0.finished ? nil : $0.columns }
        guard let columns, columns.allSatisfy({ $0 != nil }) else { return }
        encoder.append(BatchStatistics(rowCount: batch.length, columns: columns))
        guard let text = try? encoder.text() else { return }
        state.withLock { $0.encoded = (encoder, text) }
    }

    /// Stops the helper starting more work (the write failed: nothing is needed).
    func cancel() {
        state.withLock { $0.finished = true }
    }

    /// The statistics and, given an encoder, the encoder with them and its text (nil if the
    /// text cannot be made: the commit then makes it, and reports why): what the helper has
    /// finished is taken, everything else computed here.
    func finish() -> (statistics: BatchStatistics, encoded: (encoder: StatisticsEncoder, text: String)?) {
        // Take the columns the helper has not started, so it starts nothing more.
        let untaken = state.withLock { state -> Range<Int> in
            state.finished = true
            defer { state.next = state.columns.count }
            return state.next..<state.columns.count
        }
        var columns = [ColumnStatistics?](repeating: nil, count: batch.numColumns)
        for index in untaken { columns[index] = column(index) }
        // Columns the helper took: finished by now, or computed again here.
        let helped = state.withLock { $0.columns }
        for index in 0..<untaken.lowerBound { columns[index] = helped[index] ?? column(index) }
        let statistics = BatchStatistics(rowCount: batch.length, columns: columns)
        guard var encoder else { return (statistics, nil) }
        if let encoded = state.withLock({ $0.encoded }) { return (statistics, encoded) }
        encoder.append(statistics)
        return (statistics, (try? encoder.text()).map { (encoder, $0) })
    }
}
