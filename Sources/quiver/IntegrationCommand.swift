import ArgumentParser
import Foundation
import QuiverArrow
import QuiverBytes
import QuiverIPC
import QuiverIntegration

/// Arrow's integration-test interface (the contract of `arrow-json-integration-test`):
/// JSON_TO_ARROW writes the JSON's data as an Arrow file, ARROW_TO_JSON the reverse, and
/// VALIDATE reads both and exits non-zero, naming the first difference, unless they hold
/// equal schemas and values.
struct IntegrationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "integration", abstract: "Arrow integration testing: convert or validate JSON against Arrow IPC.")

    enum Mode: String, ExpressibleByArgument, CaseIterable {
        case VALIDATE, JSON_TO_ARROW, ARROW_TO_JSON
    }

    @Option(help: "VALIDATE, JSON_TO_ARROW or ARROW_TO_JSON.") var mode: Mode
    @Option(help: "Integration JSON file (.json or .json.gz).") var json: String
    @Option(help: "Arrow file or stream.") var arrow: String
    @Flag(help: "Print what was compared.") var verbose = false

    func run() throws {
        switch mode {
        case .JSON_TO_ARROW:
            let file = try IntegrationJSON.read(path: json)
            let output = try openOutput(arrow)
            let writer = try FileWriter(output: output, schema: file.schema)
            for batch in file.batches { try writer.write(batch) }
            try writer.finish()
            try output.close()
        case .ARROW_TO_JSON:
            let input = try openInput(arrow)
            let data = try IntegrationJSON.write(schema: input.schema, batches: try input.readBatches())
            try data.write(to: URL(fileURLWithPath: json))
        case .VALIDATE:
            let expected = try IntegrationJSON.read(path: json)
            let input = try openInput(arrow)
            if let difference = input.schema.firstDifference(from: expected.schema) {
                throw IntegrationMismatch("schemas differ: \(difference)")
            }
            let batches = try input.readBatches()
            guard batches.count == expected.batches.count else {
                throw IntegrationMismatch("\(arrow) has \(batches.count) record batches, \(json) has \(expected.batches.count)")
            }
            for (index, (actual, wanted)) in zip(batches, expected.batches).enumerated() {
                if let difference = actual.firstDifference(from: wanted) {
                    throw IntegrationMismatch("record batch \(index) differs: \(difference)")
                }
            }
            if verbose { print("\(arrow) matches \(json): \(batches.count) batches") }
        }
    }
}

/// VALIDATE found a difference; printed without the usage text.
struct IntegrationMismatch: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
