import QuiverArrow
import QuiverBytes
import QuiverIPC

/// Writes batches as a stream into memory.
public func writeStream(_ schema: Schema, _ batches: [RecordBatch], options: IPCWriteOptions = .init()) throws -> Buffer {
    let output = BufferOutputStream()
    let writer = try StreamWriter(output: output, schema: schema, options: options)
    for batch in batches { try writer.write(batch) }
    try writer.finish()
    return output.getvalue()
}

/// Writes batches as a file into memory.
public func writeFile(
    _ schema: Schema, _ batches: [RecordBatch], options: IPCWriteOptions = .init(), metadata: Metadata = [:]
) throws -> Buffer {
    let output = BufferOutputStream()
    let writer = try FileWriter(output: output, schema: schema, options: options, metadata: metadata)
    for batch in batches { try writer.write(batch) }
    try writer.finish()
    return output.getvalue()
}
