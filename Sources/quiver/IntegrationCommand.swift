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
            switch try expected.firstDifference(schema: input.schema, batches: input.readBatches) {
            case .schema(let difference)?: throw IntegrationMismatch("schemas differ: \(difference)")
            case .batchCount(let actual, let wanted)?:
                throw IntegrationMismatch("\(arrow) has \(actual) record batches, \(json) has \(wanted)")
            case .batch(let index, let difference)?: throw IntegrationMismatch("record batch \(index) differs: \(difference)")
            case nil: break
            }
            if verbose { print("\(arrow) matches \(json): \(expected.batches.count) batches") }
        }
    }
}

/// VALIDATE found a difference; printed without the usage text.
struct IntegrationMismatch: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
