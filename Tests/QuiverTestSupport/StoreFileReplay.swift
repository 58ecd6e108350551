import QuiverBytes
import QuiverStore

/// A store file checked and recovered the way `quiver check` and `quiver repair` do it — the
/// work of the `FuzzStoreFile` target, replayed by the store corpus tests.
public enum StoreFileReplay {
    /// Checks the file at `path`; when its footer is unusable, repairs it (rewriting the file)
    /// and checks it again; then reads and formats whatever the file holds. Returns the
    /// outcome of each step, `"; "`-separated.
    /// No writer is alive for these files, so a torn footer is not waited for.
    public static func run(path: String) -> String {
        var steps: [String] = []
        let report = FileCheck.check(path: path, retryTimeout: .zero)
        steps.append(summary(report))
        if report.needsRepair {
            do {
                let recovery = try FileCheck.repair(path: path, log: { _ in })
                steps.append(recovery.map { "repaired, \($0.keptBatches) batches kept" } ?? "repair found nothing to do")
            } catch {
                steps.append("repair: \(CorpusReplay.code(error))")
                return steps.joined(separator: "; ")
            }
            steps.append(summary(FileCheck.check(path: path, retryTimeout: .zero)))
        }
        do {
            let (outcome, batches) = CorpusReplay.readFile(try MappedFile(path: path).buffer)
            CorpusReplay.touch(batches)
            steps.append("read: \(outcome)")
        } catch {
            steps.append("map: \(CorpusReplay.code(error))")
        }
        return steps.joined(separator: "; ")
    }

    static func summary(_ report: FileCheckReport) -> String {
        if report.needsRepair { return "check: footer unusable" }
        let state = report.isHealthy ? "ok" : "\(report.problems.count) problems"
        return "check: \(state), \(report.batches) batches\(report.sealed ? ", sealed" : "")"
    }
}
