import QuiverBytes
import QuiverIPC
import QuiverStore

extension Query {
    /// The tables a query over `path` can name. A store directory offers each of its tables
    /// by name, each a snapshot of its committed batches (opening the store logs warnings,
    /// such as a crashed table that needs repair, to standard error). An Arrow file is the
    /// table `t`, and also its file name without extension when that is an identifier
    /// (`lineitem.arrow` → `lineitem`).
    ///
    /// `verifyChecksums`: a store table verifies each batch as the scan reads it; a file,
    /// which has no snapshot to verify batch by batch, has every batch verified here first
    /// (reading the whole file). Every source scans under `ioPolicy`.
    /// A store: O(catalog size) plus one snapshot per table (footer reads, no data). A
    /// file: its footer and dictionaries; O(file bytes) with `verifyChecksums`.
    public static func tables(
        at path: String, verifyChecksums: Bool = false, ioPolicy: ScanIOPolicy = .default
    ) throws -> [String: any BatchSource] {
        var tables: [String: any BatchSource] = [:]
        if FileSystem.isDirectory(path) {
            let store = try Store(at: path)
            for name in try store.tableNames() {
                var table = try StoreTableSource(store: store, table: name, verifyChecksums: verifyChecksums)
                table.ioPolicy = ioPolicy
                tables[name] = table
            }
            return tables
        }
        if verifyChecksums {
            let file = try FileSnapshot.open(path: path, options: SnapshotOptions(verifyChecksums: true))
            _ = try file.reader()
            for index in 0..<file.numRecordBatches { try file.verifyChecksum(ofBatch: index) }
        }
        var source = try FileBatchSource(path: path)
        source.ioPolicy = ioPolicy
        tables["t"] = source
        if let name = tableName(ofFile: path) { tables[name] = source }
        return tables
    }

    /// The name a file's table also goes by: the last path component without its extension,
    /// when that is an identifier SQL can name unquoted; nil otherwise.
    package static func tableName(ofFile path: String) -> String? {
        var component = Substring(path)
        while component.count > 1, component.last == "/" { component = component.dropLast() }
        if let slash = component.lastIndex(of: "/") { component = component[component.index(after: slash)...] }
        if let dot = component.lastIndex(of: "."), dot != component.startIndex,
            component.index(after: dot) != component.endIndex
        {
            component = component[..<dot]
        }
        guard component.first.map({ $0.isLetter || $0 == "_" }) == true,
            component.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
        else { return nil }
        return String(component)
    }
}
