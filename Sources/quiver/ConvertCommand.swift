import ArgumentParser
import QuiverArrow
import QuiverBytes
import QuiverIPC

extension ArrowFormat: ExpressibleByArgument {}

/// The body compression to write.
enum CompressionChoice: String, ExpressibleByArgument, CaseIterable {
    case none, lz4, zstd

    var codec: CompressionCodec? {
        switch self {
        case .none: return nil
        case .lz4: return .lz4Frame
        case .zstd: return .zstd
        }
    }
}

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert", abstract: "Rewrite an Arrow file or stream in another format or compression.")

    @Argument(help: "Input Arrow file or stream, or - for standard input.") var input: String
    @Argument(help: "Output path, or - for standard output.") var output: String
    @Option(help: "Output format: file or stream.") var format: ArrowFormat = .file
    @Option(help: "Body compression: none, lz4 or zstd.") var compression: CompressionChoice = .none
    @Option(help: "Compression level (codec default when omitted).") var level: Int?

    func run() throws {
        let source = try openInput(input)
        let sink = try openOutput(output)
        try source.write(to: sink, as: format, options: IPCWriteOptions(compression: compression.codec, compressionLevel: level))
        try sink.close()
    }
}
